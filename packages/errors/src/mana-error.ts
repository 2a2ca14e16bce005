import { type ErrorClass, type ErrorCode, classOf, httpStatusOf } from './codes.js';

export interface ManaErrorOptions {
  cause?: unknown;
  /** When the client may try again, in seconds (sent as Retry-After). */
  retryAfterS?: number;
}

/** The one base class for every error Mana raises on purpose. */
export class ManaError extends Error {
  override name = 'ManaError';
  readonly code: ErrorCode;
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, options: ManaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }

  get errorClass(): ErrorClass {
    return classOf(this.code);
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

/** Bad client input. `field` names the offending field in the request (dot path). */
export class ValidationError extends ManaError {
  override name = 'ValidationError';
  readonly field: string | undefined;

  constructor(message: string, field?: string, options: ManaErrorOptions = {}) {
    super('invalid_request', message, options);
    this.field = field;
  }
}

export class AuthError extends ManaError {
  override name = 'AuthError';
  constructor(message = 'a valid API key is required (Authorization: Bearer <key>)') {
    super('unauthorized', message);
  }
}

export class NotFoundError extends ManaError {
  override name = 'NotFoundError';
  constructor(message: string, code: 'not_found' | 'model_not_found' = 'not_found') {
    super(code, message);
  }
}

export class CancelledError extends ManaError {
  override name = 'CancelledError';
  constructor(message = 'the job was cancelled') {
    super('cancelled', message);
  }
}

export interface ConfigIssue {
  /** The variable or file location at fault, e.g. `OLLAMA_MAX_CONCURRENT`. */
  key: string;
  message: string;
}

/** Start-up only: the environment or a config file is unusable. */
export class ConfigError extends ManaError {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], heading = 'invalid configuration') {
    super('config_invalid', [heading, ...issues.map((i) => `  ${i.key}: ${i.message}`)].join('\n'));
    this.issues = issues;
  }
}

/** Every target of a job's chain failed (or was skipped); carries each hop's error. */
export class ChainExhaustedError extends ManaError {
  override name = 'ChainExhaustedError';
  readonly hopErrors: ReadonlyArray<{ target: string; message: string }>;

  constructor(hopErrors: ReadonlyArray<{ target: string; message: string }>) {
    super('chain_exhausted', `every target failed: ${hopErrors.map((h) => `${h.target}: ${h.message}`).join('; ')}`);
    this.hopErrors = hopErrors;
  }
}
