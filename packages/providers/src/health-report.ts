import type { HealthReport } from './types.js';

/** A failed probe's report: why, and whether the server only failed to answer in time. */
export function failedProbe(failure: { code: string; message: string }): HealthReport {
  return { ok: false, detail: failure.message, ...(failure.code === 'provider_timeout' ? { timedOut: true } : {}) };
}
