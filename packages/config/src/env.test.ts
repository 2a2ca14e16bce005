import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mana/errors';
import { loadConfig } from './config.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('gives the original service defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.google.defaultModel).toBe('gemini-2.0-flash');
    expect(config.autoFallbackEnabled).toBe(true);
    expect(config.ollama.maxConcurrent).toBe(3);
    expect(config.ollama.hosts).toEqual([{ name: 'gpu0', url: 'http://127.0.0.1:11434' }]);
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'mana', target: { kind: 'single', url: 'redis://127.0.0.1:6379' } });
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1' });
    expect(config.aliasesPath).toBe('aliases.yaml');
    expect(config.google.apiKey).toBeUndefined();
  });

  it('points every cloud provider at its public API by default', () => {
    const config = loadConfig({});
    expect(config.google.baseUrl).toBe('https://generativelanguage.googleapis.com');
    expect(config.openaiCompatible.openrouter.baseUrl).toBe('https://openrouter.ai/api/v1');
    expect(config.openaiCompatible.groq.baseUrl).toBe('https://api.groq.com/openai/v1');
    expect(config.openaiCompatible.together.baseUrl).toBe('https://api.together.xyz/v1');
  });

  it('treats empty values as unset, as compose env files leave them', () => {
    const config = loadConfig({ OLLAMA_MAX_CONCURRENT: '', GOOGLE_API_KEY: '' });
    expect(config.ollama.maxConcurrent).toBe(3);
    expect(config.google.apiKey).toBeUndefined();
  });

  it('returns a frozen config', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ollama.hosts)).toBe(true);
  });
});

describe('loadConfig reads the carried-over and new variables', () => {
  it('reads keys, models, base URLs and paths', () => {
    const config = loadConfig({
      GOOGLE_API_KEY: 'g-key',
      GOOGLE_DEFAULT_MODEL: 'gemini-2.5-flash',
      GOOGLE_BASE_URL: 'http://127.0.0.1:9000/',
      OPENROUTER_API_KEY: 'or-key',
      GROQ_BASE_URL: 'http://127.0.0.1:9001/v1',
      TOGETHER_API_KEY: 't-key',
      MANA_ALIASES_PATH: '/etc/mana/aliases.yaml',
      REDIS_URL: 'redis://redis:6380/2',
      PORT: '9090',
      MANA_REDIS_PREFIX: 'prod',
    });
    expect(config.google).toEqual({ apiKey: 'g-key', defaultModel: 'gemini-2.5-flash', baseUrl: 'http://127.0.0.1:9000' });
    expect(config.openaiCompatible.openrouter.apiKey).toBe('or-key');
    expect(config.openaiCompatible.groq.baseUrl).toBe('http://127.0.0.1:9001/v1');
    expect(config.openaiCompatible.together.apiKey).toBe('t-key');
    expect(config.aliasesPath).toBe('/etc/mana/aliases.yaml');
    expect(config.redis).toEqual({ url: 'redis://redis:6380/2', prefix: 'prod', target: { kind: 'single', url: 'redis://redis:6380/2' } });
    expect(config.http.port).toBe(9090);
  });

  it.each([
    ['false', false],
    ['0', false],
    ['no', false],
    ['FALSE', false],
    ['true', true],
    ['1', true],
  ])('reads AUTO_FALLBACK_ENABLED=%s as %s', (raw, expected) => {
    expect(loadConfig({ AUTO_FALLBACK_ENABLED: raw }).autoFallbackEnabled).toBe(expected);
  });

  it('reads named GPU hosts in order', () => {
    const config = loadConfig({ OLLAMA_HOSTS: 'gpu0=http://10.0.0.5:11434, gpu1=http://10.0.0.6:11434/' });
    expect(config.ollama.hosts).toEqual([
      { name: 'gpu0', url: 'http://10.0.0.5:11434', engine: 'ollama' },
      { name: 'gpu1', url: 'http://10.0.0.6:11434', engine: 'ollama' },
    ]);
  });

  it("reads each GPU server's capacity, engine and load cost", () => {
    const config = loadConfig({ OLLAMA_HOSTS: 'gpuA=http://10.0.0.5:11434;slots=4, gpuB=http://10.0.0.6:8000;engine=openai;slots=8;load_ms=0', OLLAMA_MAX_CONCURRENT: '2' });
    expect(config.ollama.hosts).toEqual([
      { name: 'gpuA', url: 'http://10.0.0.5:11434', engine: 'ollama', slots: 4 },
      { name: 'gpuB', url: 'http://10.0.0.6:8000', engine: 'openai', slots: 8, loadMs: 0 },
    ]);
    expect(config.ollama.maxConcurrent).toBe(2);
  });

  it.each([
    ['gpuA=http://a:11434;slots=0', 'slots must be a whole number ≥ 1, got "0"'],
    ['gpuA=http://a:11434;slots=two', 'slots must be a whole number ≥ 1, got "two"'],
    ['gpuA=http://a:11434;engine=vllm', 'engine must be ollama or openai, got "vllm"'],
    ['gpuA=http://a:11434;slot=4', 'unknown setting "slot" (known: slots, engine, load_ms)'],
  ])('refuses OLLAMA_HOSTS=%s naming the setting', (raw, message) => {
    expect(() => loadConfig({ OLLAMA_HOSTS: raw })).toThrow(message);
  });

  it('names bare host URLs by position', () => {
    const config = loadConfig({ OLLAMA_HOSTS: 'http://a:11434,https://ollama.example.com' });
    expect(config.ollama.hosts.map((h) => h.name)).toEqual(['gpu0', 'gpu1']);
  });

  it('accepts port 0 (an ephemeral port, for tests)', () => {
    expect(loadConfig({ PORT: '0' }).http.port).toBe(0);
  });
});

describe('Redis Cluster', () => {
  it('selects the cluster client from REDIS_CLUSTER_NODES, with credentials and TLS from REDIS_URL', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis://10.0.0.2:7001,[::1]:7002', REDIS_URL: 'rediss://mana:s%40cret@10.0.0.1:7000' });
    expect(config.redis.target).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'mana',
      password: 's@cret',
      tls: true,
    });
  });
});

describe('loadConfig rejects bad values, naming the variable, the value and what was expected', () => {
  it.each([
    ['OLLAMA_MAX_CONCURRENT', 'zero', 'whole number'],
    ['OLLAMA_MAX_CONCURRENT', '0', '≥ 1'],
    ['OLLAMA_MAX_CONCURRENT', '-2', 'whole number'],
    ['OLLAMA_MAX_CONCURRENT', '1.5', 'whole number'],
    ['AUTO_FALLBACK_ENABLED', 'flase', 'true or false'],
    ['PORT', '70000', '65535'],
    ['REDIS_URL', 'localhost:6379', 'redis://'],
    ['GOOGLE_BASE_URL', 'ftp://x', 'http'],
    ['OPENROUTER_BASE_URL', 'not a url', 'http'],
    ['MANA_REDIS_PREFIX', '{mana}', 'letters'],
    ['REDIS_CLUSTER_NODES', '10.0.0.1:7000,10.0.0.2', 'host:port'],
    ['REDIS_CLUSTER_NODES', 'a:99999', 'host:port'],
    ['MANA_LOG_LEVEL', 'loud', 'info'],
  ])('%s=%s', (key, value, expected) => {
    const err = configError({ [key]: value });
    const issue = err.issues.find((i) => i.key === key);
    expect(issue?.message).toContain(expected);
    expect(issue?.message).toContain(JSON.stringify(value));
    expect(err.message).toContain(`${key}: `);
  });

  it('reports every bad variable at once, one line each', () => {
    const err = configError({ OLLAMA_MAX_CONCURRENT: 'x', AUTO_FALLBACK_ENABLED: 'maybe', REDIS_URL: 'nope' });
    expect(err.issues.map((i) => i.key).sort()).toEqual(['AUTO_FALLBACK_ENABLED', 'OLLAMA_MAX_CONCURRENT', 'REDIS_URL']);
    expect(err.message.split('\n')).toHaveLength(4);
  });

  it('never prints a secret value', () => {
    const err = configError({ GOOGLE_API_KEY: 'AIza-very-secret', MANA_BOGUS: 'x', OLLAMA_MAX_CONCURRENT: 'x' });
    expect(err.message).not.toContain('AIza-very-secret');
  });

  it('stops on an unknown MANA_ variable and suggests the intended one', () => {
    const err = configError({ MANA_ALIASES_PAHT: 'a.yaml' });
    expect(err.issues).toEqual([{ key: 'MANA_ALIASES_PAHT', message: 'unknown variable (did you mean MANA_ALIASES_PATH?)' }]);
  });

  it('ignores variables outside its own namespace', () => {
    expect(() => loadConfig({ PATH: '/bin', OLLAMA_NUM_PARALLEL: '4', HOME: '/root' })).not.toThrow();
  });

  it.each([
    ['gpu0=http://a:11434,gpu0=http://b:11434', 'used twice'],
    ['gpu0=http://10.0.0.5', 'port explicitly'],
    ['gpu0=10.0.0.5:11434', 'http:// or https://'],
    ['bad name=http://a:11434', 'host name'],
    [' , ', 'at least one'],
  ])('rejects OLLAMA_HOSTS=%j', (value, expected) => {
    const err = configError({ OLLAMA_HOSTS: value });
    expect(err.issues[0]?.key).toBe('OLLAMA_HOSTS');
    expect(err.issues[0]?.message).toContain(expected);
  });
});
