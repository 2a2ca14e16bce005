/**
 * A float32 as Go's encoding/json writes it (Ollama's `EmbedResponse` is
 * `[][]float32`): the fewest significant digits that read back as the same
 * float32, `0.012345679` rather than the widened double's seventeen. The
 * search starts at seven digits (trailing zeros dropped), so a value whose
 * shortest form is six digits or fewer may take a digit or so more than Go
 * writes; it still reads back exactly.
 */
export function float32Text(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return value === 0 ? '0' : 'null';
  for (let digits = 7; digits < 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return trimZeros(text);
  }
  return trimZeros(value.toPrecision(9));
}

/** `0.1250000` → `0.125`, `1.500000e-7` → `1.5e-7`. */
function trimZeros(text: string): string {
  const e = text.indexOf('e');
  const mantissa = e === -1 ? text : text.slice(0, e);
  const trimmed = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
  return e === -1 ? trimmed : trimmed + text.slice(e);
}

/** A JSON array of float32 values, each as float32Text writes it. */
export function float32VectorJson(vector: readonly number[]): string {
  return `[${vector.map(float32Text).join(',')}]`;
}
