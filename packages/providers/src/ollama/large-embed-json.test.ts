import { expect, it } from 'vitest';
import { embedText, startOllamaEmulator } from '@mana/emulators';
import { createOllamaAdapter } from './index.js';
import { parseLargeEmbedJson } from './large-embed-json.js';

/** An /api/embed answer as Ollama writes it (Go's encoder: compact, fields after the vectors). */
function embedBody(vectors: number[][]): Buffer {
  return Buffer.from(JSON.stringify({ model: 'nomic-embed-text', embeddings: vectors, total_duration: 1234, load_duration: 0, prompt_eval_count: 7 }));
}

const vectors = Array.from({ length: 16 }, (_, k) => Array.from({ length: 768 }, (_, i) => Math.sin(k * 768 + i) / 28));

it('parses a large embed answer vector by vector into what JSON.parse gives', () => {
  const body = embedBody(vectors);
  expect(body.length).toBeGreaterThan(128 * 1024);
  expect(parseLargeEmbedJson(body)).toEqual(JSON.parse(body.toString()));
});

it('leaves every other body to JSON.parse: small, another shape, spaced out, or broken', () => {
  expect(parseLargeEmbedJson(embedBody(vectors.slice(0, 2)))).toBeUndefined();
  expect(parseLargeEmbedJson(Buffer.from(JSON.stringify({ vectors, note: 'x'.repeat(200_000) })))).toBeUndefined();
  expect(parseLargeEmbedJson(Buffer.from(JSON.stringify({ embeddings: vectors }, null, 1)))).toBeUndefined();
  const body = embedBody(vectors).toString();
  expect(parseLargeEmbedJson(Buffer.from(body.slice(0, -40)))).toBeUndefined(); // cut short
  expect(parseLargeEmbedJson(Buffer.from(body.replace('],[', '],"x",[')))).toBeUndefined();
  // A nested array where a number should be: not an answer of vectors.
  expect(parseLargeEmbedJson(Buffer.from(body.replace('"embeddings":[[', '"embeddings":[[[1],')))).toBeUndefined();
});

it('gives the ollama adapter the GPU’s own vectors for a 16 × 768 request', async () => {
  const emulator = await startOllamaEmulator();
  try {
    const adapter = createOllamaAdapter({ name: 'gpu0', url: emulator.url });
    const input = Array.from({ length: 16 }, (_, i) => `passage ${i}`);
    const result = await adapter.embed({ model: 'nomic-embed-text', input });
    // Ollama writes float32s in their fewest digits: each number read back is the GPU's float32.
    expect(result.embeddings.map((v) => Float32Array.from(v))).toEqual(input.map((text) => Float32Array.from(embedText('nomic-embed-text', text, 768))));
    expect(result.usage.promptTokens).toBeGreaterThan(0);
  } finally {
    await emulator.close();
  }
});
