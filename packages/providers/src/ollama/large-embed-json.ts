/** Past this size a string lives in V8's large-object space, collected only by a full GC. */
const LARGE_STRING_BYTES = 128 * 1024;
const EMBEDDINGS = Buffer.from('"embeddings":[[');
const CLOSE = 0x5d; // ]
const COMMA = 0x2c;
const OPEN = 0x5b; // [

/**
 * An Ollama `/api/embed` answer parsed vector by vector, or undefined for any other body (then
 * it is parsed whole). One 16 × 768 answer is ~150 KB of JSON as Ollama writes float32s (~250 KB
 * from a server that writes widened doubles): parsed whole, its text is a large-object string, collected only by full GCs, which a gateway embedding at 100 req/s
 * then runs many times a second. Vector by vector, every string made is ~16 KB and dies young.
 * Ollama writes `"embeddings":[[n,n,…],[…]]` compactly (Go's encoder); a body in any other
 * shape, or one that does not parse, gets undefined.
 */
export function parseLargeEmbedJson(bytes: Buffer): unknown {
  if (bytes.length < LARGE_STRING_BYTES) return undefined;
  const at = bytes.indexOf(EMBEDDINGS);
  if (at < 0) return undefined;
  try {
    const embeddings: unknown[] = [];
    let start = at + EMBEDDINGS.length - 1;
    for (;;) {
      // Numbers hold no bracket: the first ] ends the vector.
      const end = bytes.indexOf(CLOSE, start);
      if (end < 0) return undefined;
      embeddings.push(JSON.parse(bytes.toString('latin1', start, end + 1)));
      if (bytes[end + 1] === CLOSE) {
        const rest = JSON.parse(`${bytes.toString('utf8', 0, at)}"embeddings":[]${bytes.toString('utf8', end + 2)}`) as Record<string, unknown>;
        if (!Array.isArray(rest.embeddings) || rest.embeddings.length > 0) return undefined;
        rest.embeddings = embeddings;
        return rest;
      }
      if (bytes[end + 1] !== COMMA || bytes[end + 2] !== OPEN) return undefined;
      start = end + 2;
    }
  } catch {
    return undefined;
  }
}
