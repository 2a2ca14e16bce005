import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';

export interface StoredFile {
  id: string;
  tenant: string;
  filename: string;
  purpose: string;
  bytes: number;
  createdAt: number;
}

/** Content is kept in chunks of about this size: a file never sits whole in one process's memory. */
export const FILE_CHUNK_BYTES = 256 * 1024;

/**
 * Files in Redis, shared by every API and worker process, each expiring
 * after the retention. Content is a list of chunks written and read in
 * order, so a 100k-line upload streams through without being held whole.
 */
export class FileStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly retentionS: number,
  ) {}

  /** Writes a file from a stream of chunks; the metadata is written last, so a half-uploaded file is never visible. */
  async create(file: Omit<StoredFile, 'bytes'>, content: AsyncIterable<Buffer>): Promise<StoredFile> {
    const dataKey = this.keys.fileData(file.id);
    let bytes = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      // Each chunk renews the TTL: content left by an upload whose process died expires too.
      await this.redis.multi().rpush(dataKey, Buffer.concat(pending)).expire(dataKey, this.retentionS).exec();
      pending = [];
      pendingBytes = 0;
    };
    try {
      for await (const chunk of content) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        bytes += chunk.length;
        if (pendingBytes >= FILE_CHUNK_BYTES) await flush();
      }
      await flush();
    } catch (err) {
      // A cut upload leaves no half-written content behind.
      await this.redis.del(dataKey).catch(() => {});
      throw err;
    }
    const stored = { ...file, bytes };
    await this.writeMeta(stored);
    return stored;
  }

  /** An empty file whose lines are appended later (a batch's output and errors). */
  async createEmpty(file: Omit<StoredFile, 'bytes'>): Promise<StoredFile> {
    const stored = { ...file, bytes: 0 };
    await this.writeMeta(stored);
    return stored;
  }

  private async writeMeta(file: StoredFile): Promise<void> {
    const meta = this.keys.fileMeta(file.id);
    await this.redis
      .multi()
      .hset(meta, { id: file.id, tenant: file.tenant, filename: file.filename, purpose: file.purpose, bytes: String(file.bytes), createdAt: String(file.createdAt) })
      .expire(meta, this.retentionS)
      .exec();
    await this.redis.expire(this.keys.fileData(file.id), this.retentionS);
    // The index outlives no file by more than a retention: each new file renews it, and a listed id whose file expired is dropped when read.
    const index = this.keys.tenantFiles(file.tenant);
    await this.redis.multi().zadd(index, file.createdAt, file.id).expire(index, this.retentionS).exec();
  }

  async delete(id: string): Promise<void> {
    const file = await this.get(id);
    await this.redis.del(this.keys.fileMeta(id), this.keys.fileData(id));
    if (file) await this.redis.zrem(this.keys.tenantFiles(file.tenant), id);
  }

  /**
   * A tenant's files, newest first (or oldest with `order: 'asc'`), `limit`
   * after the file `after` (OpenAI's cursor), and whether more follow.
   */
  async list(
    tenant: string,
    page: { limit: number; order: 'asc' | 'desc'; after?: string | undefined; purpose?: string | undefined },
  ): Promise<{ files: StoredFile[]; hasMore: boolean }> {
    const index = this.keys.tenantFiles(tenant);
    const ids = page.order === 'desc' ? await this.redis.zrange(index, 0, -1, 'REV') : await this.redis.zrange(index, 0, -1);
    const start = page.after ? ids.indexOf(page.after) + 1 : 0;
    const files: StoredFile[] = [];
    let i = start;
    for (; i < ids.length && files.length < page.limit; i++) {
      const file = await this.get(ids[i]!);
      if (!file) {
        await this.redis.zrem(index, ids[i]!); // expired meanwhile
        continue;
      }
      if (!page.purpose || file.purpose === page.purpose) files.push(file);
    }
    return { files, hasMore: i < ids.length };
  }

  async get(id: string): Promise<StoredFile | undefined> {
    const raw = await this.redis.hgetall(this.keys.fileMeta(id));
    if (!raw.id) return undefined;
    return { id: raw.id, tenant: raw.tenant ?? '', filename: raw.filename ?? '', purpose: raw.purpose ?? '', bytes: Number(raw.bytes ?? 0), createdAt: Number(raw.createdAt ?? 0) };
  }

  /** The content, chunk by chunk, in order. */
  async *read(id: string, pageSize = 16): AsyncIterable<Buffer> {
    const key = this.keys.fileData(id);
    for (let start = 0; ; start += pageSize) {
      const page = await this.redis.lrangeBuffer(key, start, start + pageSize - 1);
      for (const chunk of page) yield chunk;
      if (page.length < pageSize) return;
    }
  }
}

/** Splits a stream of chunks into lines (without their newline), numbered from 1. */
export async function* lines(chunks: AsyncIterable<Buffer>, maxChars = Number.POSITIVE_INFINITY): AsyncIterable<{ number: number; text: string; tooLong?: true }> {
  let rest = '';
  let number = 0;
  // Inside a line longer than maxChars: its text is dropped as it comes, so one huge line
  // never sits whole in memory; the line is reported once its end is found.
  let skipping = false;
  const decoder = new TextDecoder();
  const take = function* (): Generator<{ number: number; text: string; tooLong?: true }> {
    let newline;
    while ((newline = rest.indexOf('\n')) !== -1) {
      if (skipping || newline > maxChars) yield { number: ++number, text: '', tooLong: true };
      else yield { number: ++number, text: rest.slice(0, newline).replace(/\r$/, '') };
      skipping = false;
      rest = rest.slice(newline + 1);
    }
    if (rest.length > maxChars) {
      skipping = true;
      rest = '';
    }
  };
  for await (const chunk of chunks) {
    rest += decoder.decode(chunk, { stream: true });
    yield* take();
  }
  rest += decoder.decode();
  yield* take();
  if (skipping) yield { number: ++number, text: '', tooLong: true };
  else if (rest !== '') yield { number: ++number, text: rest.replace(/\r$/, '') };
}
