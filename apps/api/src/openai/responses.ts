import { type SerializedError, httpStatusOf } from '@mana/errors';

export { answeredModel, chatCompletionBody, completionId, embeddingsBody, embeddingsBodyBytes, toolCallsBody, usageBody } from '@mana/jobs';
export type { ChatResultBody } from '@mana/jobs';

/** OpenAI's error envelope; `type` follows OpenAI's coarse split of client and server errors. */
export function errorBody(error: Pick<SerializedError, 'code' | 'message'>, param: string | null = null) {
  const status = httpStatusOf(error.code);
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status < 500 ? 'invalid_request_error' : 'api_error';
  return { error: { message: error.message, type, param, code: error.code } };
}
