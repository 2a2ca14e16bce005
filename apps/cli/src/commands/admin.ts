import { type GatewayTarget, call } from '../gateway-client.js';

const USAGE = `usage: mana admin <command>
  aliases                 the aliases in force and the last reload error
  reload-aliases          re-read aliases.yaml (like SIGHUP)
  drain GPU | resume GPU  stop / restart a GPU taking new jobs
  pause PROVIDER | resume-queue PROVIDER`;

/** `mana admin …`: everything the admin routes do (admin key). */
export async function adminCommand(target: GatewayTarget, args: readonly string[], out: (line: string) => void): Promise<number> {
  const [command, name] = args;
  const admin = { admin: true };
  const route: Record<string, [string, string] | undefined> = {
    aliases: ['GET', '/admin/aliases'],
    'reload-aliases': ['POST', '/admin/aliases/reload'],
    drain: name ? ['POST', `/admin/gpus/${encodeURIComponent(name)}/drain`] : undefined,
    resume: name ? ['POST', `/admin/gpus/${encodeURIComponent(name)}/resume`] : undefined,
    pause: name ? ['POST', `/admin/queues/${encodeURIComponent(name)}/pause`] : undefined,
    'resume-queue': name ? ['POST', `/admin/queues/${encodeURIComponent(name)}/resume`] : undefined,
  };
  const chosen = command ? route[command] : undefined;
  if (!chosen) {
    out(USAGE);
    return 2;
  }
  out(JSON.stringify(await call(target, chosen[0], chosen[1], admin), null, 2));
  return 0;
}
