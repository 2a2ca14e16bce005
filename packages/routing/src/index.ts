export { RATE_LIMIT_BACKOFF_MS, RATE_LIMIT_MAX_WAIT_MS, RATE_LIMIT_TRIES, RETRY_BASE_MS, RETRY_MAX_MS, decide } from './decide.js';
export type { Decision, JobView, MoveReason, RoutingEvent, RoutingPolicy, TargetState } from './types.js';
export { pickModel } from './affinity.js';
export type { ModelDemand, ServerState } from './affinity.js';
