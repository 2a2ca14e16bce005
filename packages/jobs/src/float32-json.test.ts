import { expect, it } from 'vitest';
import { jsonBytes } from './float32-json.js';

/** Each vector's JSON text, written by jsonBytes alone. */
const float32ArraysJson = (vectors: Float32Array[]) => vectors.map((v) => jsonBytes([v]).toString());

/** Deterministic float32s: every bit pattern class (tiny, huge, subnormal, negative), from a fixed-seed generator. */
function float32s(count: number, seed: number): Float32Array {
  const bits = new Uint32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[i] = state;
  }
  return new Float32Array(bits.buffer).map((x) => (Number.isFinite(x) ? x : 0.5));
}

it('writes every float32 so that it reads back as the same float32', () => {
  const vectors = [float32s(100_000, 20261203), Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i) / 10)];
  const texts = float32ArraysJson(vectors);
  texts.forEach((text, k) => {
    const read = JSON.parse(text) as number[];
    expect(read).toHaveLength(vectors[k]!.length);
    read.forEach((x, i) => {
      if (Math.fround(x) !== vectors[k]![i]) expect.fail(`${vectors[k]![i]} was written ${JSON.stringify(x)}`);
    });
  });
});

it('writes the edges of each digit range, zero, and what JSON cannot hold as JSON.stringify does', () => {
  const values = [0.1, 0.01, 0.001, 0.0001, 0.99999999, 0.0999999999, 0.00999999999, 0.000999999999, 1, -0.5, 1e-5, -123.456, 3.4e38, 1e-45, 0, -0];
  const [text] = float32ArraysJson([Float32Array.from(values)]);
  const read = JSON.parse(text!) as number[];
  // -0 is written 0, as JSON.stringify writes it (equal as numbers).
  read.forEach((x, i) => expect(Math.fround(x) === Math.fround(values[i]!)).toBe(true));
  expect(text).toMatch(/^\[0\.100000001,0\.00999999978,/);
  expect(text).toMatch(/,0,0\]$/);
  expect(float32ArraysJson([Float32Array.from([NaN, Infinity, -Infinity, 0.25])])).toEqual(['[null,null,null,0.250000000]']);
});

it('writes at most nine significant digits, far shorter than the widened doubles', () => {
  const vector = Float32Array.from({ length: 768 }, (_, i) => Math.cos(i * 7) / 28);
  const [text] = float32ArraysJson([vector]);
  for (const n of text!.slice(1, -1).split(',')) expect(n.replace(/^-?0\.0*|e.*$|\./g, '').length).toBeLessThanOrEqual(9);
  expect(text!.length).toBeLessThan(JSON.stringify(Array.from(vector)).length * 0.75);
  expect(float32ArraysJson([new Float32Array(0)])).toEqual(['[]']);
});

it('writes JSON text pieces as they are, UTF-8 included, around the vectors', () => {
  const bytes = jsonBytes(['{"model":"café ✓","v":', Float32Array.from([0.5, -0.25]), ',"w":', new Float32Array(0), '}']);
  expect(JSON.parse(bytes.toString('utf8'))).toEqual({ model: 'café ✓', v: [0.5, -0.25], w: [] });
});
