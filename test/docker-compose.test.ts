import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '@mana/config';

// No Docker engine runs here: the compose file is checked, not run.
const root = new URL('..', import.meta.url).pathname;
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { command?: string[]; environment?: Record<string, string>; profiles?: string[]; build?: string; image?: string; healthcheck?: unknown; volumes?: string[] }
  >;
};

/** What an operator must put in .env: the variables compose marks required (`${VAR:?…}`). */
const OPERATOR_ENV: Record<string, string> = { MANA_API_KEYS: 'team:a-key-of-sixteen-chars' };

/** `${VAR:-default}` and `${VAR:?message}` as compose expands them with only the required ones set. */
function expand(env: Record<string, string>): Record<string, string> {
  const value = (v: string) =>
    v.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, '$2').replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_m, name: string) => {
      const given = OPERATOR_ENV[name];
      if (given === undefined) throw new Error(`${name} is required by docker-compose.yml but not in OPERATOR_ENV`);
      return given;
    });
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, value(String(v))]));
}

describe('docker-compose.yml', () => {
  it('runs Redis with persistence and a health check', () => {
    const redis = compose.services.redis!;
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(redis.healthcheck).toBeDefined();
  });

  it.each(['api', 'worker', 'emulator-ollama', 'emulator-gemini'])('starts %s from a file that exists', (name) => {
    const command = compose.services[name]?.command ?? [];
    const entry = command.find((part) => part.endsWith('.ts'));
    expect(entry, `${name} command`).toBeDefined();
    expect(existsSync(`${root}${entry}`)).toBe(true);
  });

  it.each(['api', 'worker'])('gives %s an environment our config module accepts', (name) => {
    const env = expand(compose.services[name]?.environment ?? {});
    const config = loadConfig({ ...env, MANA_ALIASES_PATH: `${root}aliases.yaml` });
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.ollama.hosts[0]?.url).toBe('http://ollama-gpu0:11434');
    expect(config.auth.keys.map((k) => k.tenant)).toEqual(['team']);
  });

  it("keeps each Ollama server's parallelism equal to the gateway's cap", () => {
    const ollama = compose.services['ollama-gpu0']!;
    expect(ollama.environment?.OLLAMA_NUM_PARALLEL).toBe('${OLLAMA_MAX_CONCURRENT:-3}');
    expect(compose.services.worker?.environment?.OLLAMA_MAX_CONCURRENT).toBe('${OLLAMA_MAX_CONCURRENT:-3}');
  });

  it('has a profile that swaps the GPU and Gemini for emulators', () => {
    expect(compose.services['emulator-ollama']?.profiles).toEqual(['emulated']);
    expect(compose.services['emulator-gemini']?.profiles).toEqual(['emulated']);
  });
});
