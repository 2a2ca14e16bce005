import { expect, it } from 'vitest';
import { float32Text, float32VectorJson } from './float32-text.js';

it('writes each float32 in the fewest digits (seven at least) that read back as itself', () => {
  const bits = new Uint32Array(1);
  const view = new Float32Array(bits.buffer);
  for (let i = 0; i < 50_000; i++) {
    bits[0] = (Math.random() * 0xffffffff) >>> 0;
    const value = view[0]!;
    if (!Number.isFinite(value)) continue;
    const text = float32Text(value);
    expect(Math.fround(Number(text))).toBe(value);
    expect(text.replace(/^-?0?\.?0*|e.*$|\./g, '').length).toBeLessThanOrEqual(9);
  }
  expect(float32Text(Math.fround(0.1))).toBe('0.1');
  expect(float32Text(Math.fround(-0.012345678))).toBe('-0.012345678');
  expect(float32Text(Math.fround(1.5e-7))).toBe('1.5e-7');
  expect(float32Text(0)).toBe('0');
});

it('writes a vector as one JSON array', () => {
  const vector = [Math.fround(0.25), Math.fround(-0.3), Math.fround(1 / 3)];
  expect(float32VectorJson(vector)).toBe('[0.25,-0.3,0.33333334]');
  expect(Float32Array.from(JSON.parse(float32VectorJson(vector)) as number[])).toEqual(Float32Array.from(vector));
});
