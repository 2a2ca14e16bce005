/**
 * How an embedding job's vectors are stored and cross Redis: each vector as
 * little-endian float32, base64 — OpenAI's own `encoding_format: "base64"`
 * form (and what the openai SDK asks for by default). A quarter of the
 * bytes of JSON numbers, encoded once by the worker; a client asking for
 * base64 is sent the stored strings as they are. Providers compute float32
 * vectors, so nothing is lost. (Float32Array is the platform's byte order:
 * little-endian on every platform Node ships for.)
 */
export interface PackedEmbeddings {
  f32: string[];
}

/** Records written before vectors were packed hold them as JSON numbers. */
interface JsonEmbeddings {
  embeddings: number[][];
}

export function packEmbeddings(vectors: ReadonlyArray<readonly number[]>): PackedEmbeddings {
  return { f32: vectors.map((v) => Buffer.from(Float32Array.from(v).buffer).toString('base64')) };
}

/** Each vector as OpenAI's base64 float32. */
export function embeddingsBase64(result: unknown): string[] {
  if (isPacked(result)) return result.f32;
  return (result as JsonEmbeddings).embeddings.map((v) => Buffer.from(Float32Array.from(v).buffer).toString('base64'));
}

/** Each vector as numbers. */
export function embeddingsFloat(result: unknown): number[][] {
  if (!isPacked(result)) return (result as JsonEmbeddings).embeddings;
  return result.f32.map((encoded) => Array.from(unpack(encoded)));
}

/**
 * Each vector for an answer of JSON numbers written as bytes (jsonBytes): packed vectors as
 * float32, written at float32 precision, as the provider made them; older records' as JSON text.
 */
export function embeddingsForJson(result: unknown): Array<Float32Array | string> {
  if (!isPacked(result)) return (result as JsonEmbeddings).embeddings.map((v) => JSON.stringify(v));
  return result.f32.map(unpack);
}

/** One packed vector's floats, decoded into a buffer of its own so they start on a 4-byte boundary (a small Buffer may sit anywhere in Node's pool). */
function unpack(encoded: string): Float32Array {
  const bytes = Buffer.alloc(Buffer.byteLength(encoded, 'base64'));
  const length = bytes.write(encoded, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, length >> 2);
}

function isPacked(result: unknown): result is PackedEmbeddings {
  return typeof result === 'object' && result !== null && Array.isArray((result as PackedEmbeddings).f32);
}
