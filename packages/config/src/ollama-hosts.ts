import { isHttpUrl } from './env-types.js';

/** What serves models on a GPU server: Ollama, or an OpenAI-compatible engine (vLLM, llama.cpp's server, SGLang). */
export const GPU_ENGINES = ['ollama', 'openai'] as const;
export type GpuEngine = (typeof GPU_ENGINES)[number];

export interface OllamaHost {
  /** A stable name for the GPU server, used in queue names, metrics and logs. */
  name: string;
  /** Base URL of that server's API, without a trailing slash (an `openai` engine's is the part before `/v1`). */
  url: string;
  /** @defaultValue 'ollama' */
  engine?: GpuEngine | undefined;
  /** Jobs this server runs at once; undefined means OLLAMA_MAX_CONCURRENT. */
  slots?: number | undefined;
  /** A configured cost of loading a model on this server, in ms, used until a load has been measured. */
  loadMs?: number | undefined;
}

/** A GPU server, whatever its engine. */
export type GpuHost = OllamaHost;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const HOST_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

/**
 * Parses `OLLAMA_HOSTS`: comma-separated entries, each `name=url` or a bare
 * `url` (named gpu0, gpu1, … by position), optionally followed by
 * `;key=value` settings: `slots=N` (this server's capacity), `engine=ollama|openai`,
 * `load_ms=N` (the cost of loading a model, until one is measured). One entry per GPU server.
 */
export function parseOllamaHosts(raw: string): ParseResult<OllamaHost[]> {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) return { ok: false, error: 'expected at least one Ollama host' };
  const hosts: OllamaHost[] = [];
  for (const [index, entry] of entries.entries()) {
    const [head = '', ...settings] = entry.split(';').map((part) => part.trim());
    const eq = head.indexOf('=');
    const name = eq === -1 ? `gpu${index}` : head.slice(0, eq).trim();
    const url = (eq === -1 ? head : head.slice(eq + 1)).trim();
    const host: OllamaHost = { name, url: url.replace(/\/+$/, ''), engine: 'ollama' };
    const problem = checkHost(name, url) ?? applySettings(host, settings);
    if (problem) return { ok: false, error: `entry ${index + 1} ("${entry}"): ${problem}` };
    if (hosts.some((h) => h.name === name)) {
      return { ok: false, error: `entry ${index + 1}: the name "${name}" is used twice` };
    }
    hosts.push(host);
  }
  return { ok: true, value: hosts };
}

function applySettings(host: OllamaHost, settings: readonly string[]): string | undefined {
  for (const setting of settings.filter((s) => s !== '')) {
    const [key = '', value = ''] = setting.split('=').map((part) => part.trim());
    if (key === 'engine') {
      if (!(GPU_ENGINES as readonly string[]).includes(value)) return `engine must be ${GPU_ENGINES.join(' or ')}, got "${value}"`;
      host.engine = value as GpuEngine;
    } else if (key === 'slots' || key === 'load_ms') {
      const n = Number(value);
      const least = key === 'slots' ? 1 : 0;
      if (!/^\d+$/.test(value) || n < least) return `${key} must be a whole number ≥ ${least}, got "${value}"`;
      if (key === 'slots') host.slots = n;
      else host.loadMs = n;
    } else {
      return `unknown setting "${key}" (known: slots, engine, load_ms), e.g. gpuA=http://10.0.0.5:11434;slots=4`;
    }
  }
  return undefined;
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
