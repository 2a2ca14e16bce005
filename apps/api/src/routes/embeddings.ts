import { type Request, type Response, Router } from 'express';
import type { ApiDeps } from '../deps.js';
import { schedulingFrom } from '../job-options.js';
import { sendJsonBytes } from '../http/json-bytes.js';
import { embeddingsBodyBytes } from '../openai/responses.js';
import { EmbeddingRequestSchema } from '../openai/schemas.js';
import { toEmbeddingWork } from '../openai/translate.js';
import { failureOf, sendFailure, setJobHeaders, submitAndWatch } from '../watch-job.js';

/** POST /v1/embeddings: one job per request, so all its vectors come from one model. */
export function embeddingsRouter(deps: ApiDeps): Router {
  const router = Router();
  router.post('/v1/embeddings', async (req: Request, res: Response) => {
    const body = EmbeddingRequestSchema.parse(req.body);
    const watched = await submitAndWatch(deps, res, { work: toEmbeddingWork(body), model: body.model, ...schedulingFrom(req, 'interactive') });
    const { id } = watched.accepted;
    try {
      for await (const event of watched.events) {
        if (event.type === 'done') {
          setJobHeaders(res, id, event);
          sendJsonBytes(res, embeddingsBodyBytes(event, body.encoding_format ?? 'float'));
          return;
        }
        const failure = failureOf(event);
        if (failure) return sendFailure(res, id, failure);
      }
    } finally {
      watched.stop();
    }
  });
  return router;
}
