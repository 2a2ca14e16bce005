import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { GatewayError, type GatewayTarget, call } from '../gateway-client.js';

/** How often --wait asks the gateway for progress. */
const PROGRESS_POLL_MS = 500;

export interface BatchSubmitOptions {
  model?: string | undefined;
  endpoint?: string | undefined;
  /** completion_window: "24h" (OpenAI's only one) or shorter, e.g. "2h". @defaultValue 24h */
  window?: string | undefined;
  wait: boolean;
  out?: string | undefined;
  /** How often to ask for progress. @defaultValue PROGRESS_POLL_MS */
  pollMs?: number;
}

interface BatchObject {
  id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
}

/**
 * `mana batch submit FILE.jsonl`: uploads, creates the batch, and with
 * --wait shows progress (done / failed / total, rate, ETA) until it ends,
 * writes the results with --out, and exits 1 if any item failed.
 */
export async function batchSubmit(
  target: GatewayTarget,
  file: string | undefined,
  options: BatchSubmitOptions,
  out: (line: string) => void,
  progress: (line: string, final: boolean) => void,
): Promise<number> {
  if (!file) {
    out('usage: mana batch submit FILE.jsonl [--model ALIAS] [--endpoint /v1/chat/completions|/v1/embeddings] [--window 24h] [--wait] [--out results.jsonl]');
    return 2;
  }
  const { content, endpoint } = prepare(await readFile(file, 'utf8'), options);
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([content], { type: 'application/jsonl' }), basename(file));
  const uploaded = await upload(target, form);
  let batch = (await call(target, 'POST', '/v1/batches', { body: { input_file_id: uploaded.id, endpoint, completion_window: options.window ?? '24h' } })) as BatchObject;
  out(`batch ${batch.id} created from ${file} (${endpoint})`);
  if (!options.wait) return 0;

  const started = Date.now();
  while (!['completed', 'failed', 'cancelled', 'expired'].includes(batch.status)) {
    progress(progressLine(batch, started), false);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? PROGRESS_POLL_MS));
    batch = (await call(target, 'GET', `/v1/batches/${batch.id}`)) as BatchObject;
  }
  progress(progressLine(batch, started), true);
  if (options.out) {
    const results = batch.output_file_id ? await download(target, batch.output_file_id) : '';
    const errors = batch.error_file_id ? await download(target, batch.error_file_id) : '';
    await writeFile(options.out, results + errors);
    out(`results written to ${options.out}`);
  }
  const { total, failed } = batch.request_counts;
  if (batch.status !== 'completed') {
    out(`batch ${batch.id} ended ${batch.status}`);
    return 1;
  }
  if (failed > 0) {
    out(`${failed} of ${total} items failed`);
    return 1;
  }
  out(`all ${total} items succeeded`);
  return 0;
}

/** Applies --model to every line and finds the endpoint (from --endpoint or the first line's url). */
function prepare(text: string, options: BatchSubmitOptions): { content: string; endpoint: string } {
  const rows = text.split('\n').filter((l) => l.trim() !== '');
  let endpoint = options.endpoint;
  const content = rows
    .map((row) => {
      try {
        const line = JSON.parse(row) as { url?: string; body?: Record<string, unknown> };
        endpoint ??= line.url;
        if (options.model && line.body) line.body.model = options.model;
        return options.model ? JSON.stringify(line) : row;
      } catch {
        return row; // the gateway reports it, with its line number
      }
    })
    .join('\n');
  return { content: `${content}\n`, endpoint: endpoint ?? '/v1/chat/completions' };
}

function progressLine(batch: BatchObject, started: number): string {
  const { total, completed, failed } = batch.request_counts;
  const done = completed + failed;
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  const rate = done / seconds;
  const eta = rate > 0 && total > done ? `${Math.ceil((total - done) / rate)}s` : '-';
  const width = 24;
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} done (${failed} failed)  ${rate.toFixed(1)}/s  ETA ${eta}  ${batch.status}`;
}

async function upload(target: GatewayTarget, form: FormData): Promise<{ id: string }> {
  const response = await fetch(`${target.url}/v1/files`, { method: 'POST', headers: target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}, body: form });
  const body = (await response.json()) as { id?: string; error?: { message?: string } };
  if (!response.ok || !body.id) throw new GatewayError(response.status, `${response.status}: ${body.error?.message ?? 'upload failed'}`);
  return { id: body.id };
}

async function download(target: GatewayTarget, fileId: string): Promise<string> {
  const response = await fetch(`${target.url}/v1/files/${fileId}/content`, { headers: target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {} });
  if (!response.ok) throw new GatewayError(response.status, `${response.status}: could not download ${fileId}`);
  return response.text();
}
