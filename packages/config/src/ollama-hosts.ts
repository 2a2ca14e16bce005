import { isHttpUrl } from './env-types.js';

export interface OllamaHost {
  /** A stable name for the GPU server, used in queue names, metrics and logs. */
  name: string;
  /** Base URL of that server's Ollama API, without a trailing slash. */
  url: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const HOST_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

/**
 * Parses `OLLAMA_HOSTS`: comma-separated entries, each `name=url` or a bare
 * `url` (named gpu0, gpu1, … by position). One entry per GPU server.
 */
export function parseOllamaHosts(raw: string): ParseResult<OllamaHost[]> {
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0) return { ok: false, error: 'expected at least one Ollama host' };
  const hosts: OllamaHost[] = [];
  for (const [index, entry] of entries.entries()) {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? `gpu${index}` : entry.slice(0, eq).trim();
    const url = (eq === -1 ? entry : entry.slice(eq + 1)).trim();
    const problem = checkHost(name, url);
    if (problem) return { ok: false, error: `entry ${index + 1} ("${entry}"): ${problem}` };
    if (hosts.some((h) => h.name === name)) {
      return { ok: false, error: `entry ${index + 1}: the name "${name}" is used twice` };
    }
    hosts.push({ name, url: url.replace(/\/+$/, '') });
  }
  return { ok: true, value: hosts };
}

function checkHost(name: string, url: string): string | undefined {
  if (!HOST_NAME.test(name)) {
    return 'a host name is letters, digits, "-" or "_" (at most 32), e.g. gpu0=http://10.0.0.5:11434';
  }
  if (!isHttpUrl(url)) return 'expected an http:// or https:// URL, e.g. http://127.0.0.1:11434';
  // The ollama SDK turns "http://host" (no port) into port 80, not 11434: a
  // silent misroute, so insist on an explicit port for plain http.
  const parsed = new URL(url);
  if (parsed.protocol === 'http:' && parsed.port === '') {
    return 'give the port explicitly (Ollama listens on 11434), e.g. http://10.0.0.5:11434';
  }
  return undefined;
}
