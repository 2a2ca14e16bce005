import { expect, it } from 'vitest';
import { embeddingsBase64, embeddingsFloat, packEmbeddings } from './embedding-result.js';

const vectors = [
  [0.1, -0.25, 0.3333333333],
  [1e-7, 0, -1],
];

it("packs vectors as OpenAI's base64 float32 and reads them back as numbers at float32 precision", () => {
  const packed = packEmbeddings(vectors);
  // OpenAI's form: each vector's little-endian float32 bytes, base64.
  expect(packed.f32[0]).toBe(Buffer.from(new Float32Array(vectors[0]!).buffer).toString('base64'));
  expect(embeddingsBase64(packed)).toBe(packed.f32);
  const floats = embeddingsFloat(JSON.parse(JSON.stringify(packed)));
  expect(floats.map((v) => v.length)).toEqual([3, 3]);
  floats.flat().forEach((x, i) => expect(x).toBe(Math.fround(vectors.flat()[i]!)));
});

it('reads records written before vectors were packed (JSON numbers)', () => {
  const old = { embeddings: vectors };
  expect(embeddingsFloat(old)).toEqual(vectors);
  expect(embeddingsBase64(old)).toEqual(packEmbeddings(vectors).f32);
});
