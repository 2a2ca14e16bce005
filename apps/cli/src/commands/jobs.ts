import { type GatewayTarget, call } from '../gateway-client.js';

interface JobView {
  id: string;
  status: string;
  model: string;
  priority: string;
  position: number | null;
  hops: Array<{ target: string; reason: string; status: string; error: { message: string } | null }>;
  error: { code: string; message: string } | null;
}

/** `mana jobs get ID` and `mana jobs cancel ID`. */
export async function jobsCommand(target: GatewayTarget, action: string | undefined, id: string | undefined, out: (line: string) => void): Promise<number> {
  if (!id || (action !== 'get' && action !== 'cancel')) {
    out('usage: mana jobs get|cancel JOB_ID');
    return 2;
  }
  const job = (await call(target, action === 'get' ? 'GET' : 'DELETE', `/v1/jobs/${encodeURIComponent(id)}`)) as JobView;
  out(`${job.id}  ${job.status}${job.position !== null ? ` (position ${job.position})` : ''}  ${job.model}  ${job.priority}`);
  for (const [i, hop] of job.hops.entries()) {
    out(`  hop ${i}  ${hop.target}  ${hop.reason}  ${hop.status}${hop.error ? `  — ${hop.error.message}` : ''}`);
  }
  if (job.error) out(`  error ${job.error.code}: ${job.error.message}`);
  return 0;
}
