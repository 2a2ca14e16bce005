import express, { type Express } from 'express';
import type { ApiDeps } from './deps.js';
import { BOARD_PATH, boardRouter } from './board.js';
import { errorHandler } from './middleware/error-handler.js';
import { requestId } from './middleware/request-id.js';
import { requestLog } from './middleware/request-log.js';
import { errorBody } from './openai/responses.js';
import { adminRouter } from './routes/admin.js';
import { chatCompletionsRouter } from './routes/chat-completions.js';
import { responsesRouter } from './routes/responses.js';
import { completionsRouter } from './routes/completions.js';
import { embeddingsRouter } from './routes/embeddings.js';
import { healthRouter, statusRouter } from './routes/health.js';
import { authenticate, requireAdmin } from './middleware/auth.js';
import { tenantRateLimit } from './middleware/rate-limit.js';
import { jobsRouter } from './routes/jobs.js';
import { usageRouter } from './routes/usage.js';
import { filesRouter } from './routes/files.js';
import { batchesRouter } from './routes/batches.js';
import { modelsRouter } from './routes/models.js';
import { ollamaRouter } from './routes/ollama.js';
import { ollamaInfoRouter } from './routes/ollama-info.js';
import { ollamaErrorBody } from './ollama/bodies.js';
import { anthropicKeyHeader, anthropicRouter } from './routes/anthropic.js';
import { anthropicErrorBody } from './anthropic/bodies.js';

/** Builds the HTTP app from its dependencies; it never listens and holds no globals. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  app.use(requestLog(deps.log));
  app.use(deps.metrics.requests);
  app.use(express.json({ limit: '20mb' }));
  app.use(healthRouter(deps));
  app.use(['/admin', '/status'], requireAdmin(deps.config.auth));
  app.use(BOARD_PATH, boardRouter(deps, { readOnly: deps.config.boardReadOnly }));
  app.get('/metrics', requireAdmin(deps.config.auth), async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use(statusRouter(deps));
  app.use(adminRouter(deps));
  app.use('/v1/messages', anthropicKeyHeader);
  app.use('/v1', authenticate(deps.apiKeys), tenantRateLimit(deps.pipeline, deps.config.auth.tenantRpm));
  // Anthropic's Messages API: its errors (auth and limits included) in Anthropic's shape.
  app.use(anthropicRouter(deps));
  app.use('/v1/messages', errorHandler(deps.log, anthropicErrorBody));
  app.use(modelsRouter(deps));
  app.use(chatCompletionsRouter(deps));
  app.use(responsesRouter(deps));
  app.use(completionsRouter(deps));
  app.use(embeddingsRouter(deps));
  app.use(jobsRouter(deps));
  app.use(usageRouter(deps));
  app.use(filesRouter(deps));
  app.use(batchesRouter(deps));
  // Ollama's own API on the same port: its clients' errors in its shape, {"error": …}.
  app.use('/api', authenticate(deps.apiKeys), tenantRateLimit(deps.pipeline, deps.config.auth.tenantRpm));
  app.use(ollamaRouter(deps));
  app.use(ollamaInfoRouter(deps));
  app.use('/api', (req, res) => void res.status(404).json({ error: `no route ${req.method} ${req.originalUrl.split('?')[0]}` }));
  app.use('/api', errorHandler(deps.log, ollamaErrorBody));
  app.use((req, res) => {
    res.status(404).json(errorBody({ code: 'not_found', message: `no route ${req.method} ${req.path}` }));
  });
  app.use(errorHandler(deps.log));
  return app;
}
