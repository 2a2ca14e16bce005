export { ERROR_CODES, classOf, httpStatusOf, isErrorCode, isRerouteable } from './codes.js';
export type { ErrorClass, ErrorCode } from './codes.js';
export { AuthError, CancelledError, ChainExhaustedError, ConfigError, ManaError, NotFoundError, ValidationError } from './mana-error.js';
export type { ConfigIssue, ManaErrorOptions } from './mana-error.js';
export { ProviderError, isContextLengthMessage, providerCodeForStatus } from './provider-error.js';
export type { ProviderErrorCode, ProviderErrorDetails } from './provider-error.js';
export { serializeError, toSerializedError } from './serialize.js';
export type { SerializedError } from './serialize.js';
