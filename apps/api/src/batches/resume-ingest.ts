import type { BatchRecord } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';
import { type IngestOptions, ingestBatch, newReaderId } from './ingest.js';

/** Reads a batch's input in the background; a reader that fails outright fails the batch with why. */
export function startIngest(deps: ApiDeps, batch: BatchRecord, options: IngestOptions): void {
  void ingestBatch(deps, batch, options).catch(async (err: unknown) => {
    deps.log.error({ err, batchId: batch.id }, 'batch ingestion failed');
    await deps.pipeline.batches.setStatus(batch.id, 'failed', { failedAt: String(Date.now()), error: err instanceof Error ? err.message : String(err) }).catch(() => {});
  });
}

/**
 * Every API process looks, about four times per quiet interval, for batches
 * whose input reader stopped beating (its process died mid-file) and takes
 * the reading over, atomically and once, from the last line the dead reader
 * had queued. Nothing is lost and nothing runs twice: every step of reading
 * is keyed by line number (see ingestBatch).
 */
export function watchQuietBatchReaders(deps: ApiDeps): () => void {
  const { pipeline, log } = deps;
  const quietMs = deps.config.batchReaderQuietMs;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const id of await pipeline.redis.zrange(pipeline.keys.activeBatches(), 0, 99)) {
        const reader = newReaderId(deps.instanceId);
        const resumeAfter = await pipeline.batches.takeOverIngest(id, reader, quietMs);
        if (resumeAfter === undefined) continue;
        const batch = await pipeline.batches.get(id);
        if (!batch) continue;
        log.warn({ batchId: id, resumeAfter }, "a batch's input reader went quiet; reading on from the line after its last heartbeat");
        startIngest(deps, batch, { reader, resumeAfter });
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not look for quiet batch readers; trying again');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(100, Math.floor(quietMs / 4)));
  timer.unref();
  return () => clearInterval(timer);
}
