import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import busboy from 'busboy';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { ManaError, NotFoundError, ValidationError } from '@mana/errors';
import type { StoredFile } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';
import { tenantOf } from '../middleware/auth.js';

/** GET /v1/files's query, as OpenAI has it: `limit` 1–10000 (default 10000), `order`, `after` (a file id), `purpose`. */
const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().optional(),
  purpose: z.string().optional(),
});

/** Uploads larger than this are refused with 413 (a 100k-line embedding batch is a few MB). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** OpenAI's Files API, for batch input and output: content streams into Redis, never whole into memory. */
export function filesRouter(deps: ApiDeps): Router {
  const router = Router();
  const { files } = deps.pipeline;

  router.post('/v1/files', async (req: Request, res: Response) => {
    const stored = await receiveUpload(
      req,
      (upload) => files.create({ id: `file-${randomUUID().replaceAll('-', '')}`, tenant: tenantOf(res), createdAt: Date.now(), ...upload.meta }, upload.content),
      (file) => files.delete(file.id),
    );
    res.json(fileObject(stored));
  });
  router.get('/v1/files', async (req: Request, res: Response) => {
    const query = ListQuerySchema.parse(req.query);
    const { files: page, hasMore } = await files.list(tenantOf(res), { limit: query.limit, order: query.order, after: query.after, purpose: query.purpose });
    const data = page.map(fileObject);
    res.json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore });
  });
  router.get('/v1/files/:id', async (req: Request, res: Response) => {
    res.json(fileObject(await ownFile(deps, res, req.params.id as string)));
  });
  router.delete('/v1/files/:id', async (req: Request, res: Response) => {
    const file = await ownFile(deps, res, req.params.id as string);
    await files.delete(file.id);
    res.json({ id: file.id, object: 'file', deleted: true });
  });
  router.get('/v1/files/:id/content', async (req: Request, res: Response) => {
    const file = await ownFile(deps, res, req.params.id as string);
    res.setHeader('content-type', 'application/jsonl');
    for await (const chunk of files.read(file.id)) if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    res.end();
  });
  return router;
}

export async function ownFile(deps: ApiDeps, res: Response, id: string): Promise<StoredFile> {
  const file = await deps.pipeline.files.get(id);
  if (!file || file.tenant !== tenantOf(res)) throw new NotFoundError(`no file ${id}`);
  return file;
}

function fileObject(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: Math.floor(file.createdAt / 1000),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
  };
}

interface Upload {
  meta: { filename: string; purpose: string };
  content: AsyncIterable<Buffer>;
}

/**
 * Reads a multipart upload and hands the file part to `store` as a stream.
 * The openai SDK sends `file` before `purpose`, so the file is stored as it
 * comes and dropped again if the purpose turns out not to be "batch".
 */
function receiveUpload(req: Request, store: (upload: Upload) => Promise<StoredFile>, drop: (file: StoredFile) => Promise<void>): Promise<StoredFile> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) return reject(new ValidationError('expected a multipart/form-data upload with fields purpose and file', 'file'));
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: MAX_FILE_BYTES, files: 1 } });
    } catch (err) {
      // e.g. "Multipart: Boundary not found": the client's content-type is incomplete.
      return reject(new ValidationError(`the multipart upload cannot be read: ${(err as Error).message}`, 'file'));
    }
    let purpose = '';
    let storing: Promise<StoredFile> | undefined;
    // A body that ends early ("Unexpected end of form") or a client that goes away: the
    // parser and the file stream both report it. Every stream here has an error listener,
    // so a truncated upload is a 400 for this request and never an uncaught 'error' event.
    let content: PassThrough | undefined;
    const truncated = (err: Error) => {
      const reason = new ValidationError(`the multipart upload ended early or is malformed: ${err.message}`, 'file', { cause: err });
      content?.destroy(reason);
      reject(reason);
    };
    parser.on('field', (name, value) => {
      if (name === 'purpose') purpose = value;
    });
    parser.on('file', (_name, stream, info) => {
      const part = new PassThrough();
      content = part;
      stream.on('limit', () => part.destroy(new ManaError('payload_too_large', `file: larger than ${MAX_FILE_BYTES} bytes`)));
      stream.on('error', truncated);
      stream.pipe(part);
      storing = store({ meta: { filename: info.filename ?? 'upload.jsonl', purpose: 'batch' }, content: part });
      storing.catch(reject);
    });
    parser.on('error', truncated);
    req.on('error', truncated);
    parser.on('close', () => {
      if (!storing) return reject(new ValidationError('no file part in the upload', 'file'));
      storing.then(async (file) => {
        if (purpose === 'batch') return resolve(file);
        await drop(file);
        reject(new ValidationError(`purpose must be "batch", got "${purpose}"`, 'purpose'));
      }, reject);
    });
    req.pipe(parser);
  });
}
