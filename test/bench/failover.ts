import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { type Fault, continuationText, startOpenAICompatibleEmulator, tokenize, replyText } from '@mana/emulators';
import type { BenchEnv } from './env.js';
import { startGateway, table } from './lib.js';

const ALIASES = `version: 1
default: mana/rescue
models:
  openrouter/deepseek/deepseek-r1: { kind: chat }
  groq/llama-3.3-70b-versatile: { kind: chat, capabilities: [long_context] }
aliases:
  mana/rescue:
    chain: [openrouter/deepseek/deepseek-r1, groq/llama-3.3-70b-versatile]
`;
const PRIMARY = '/openrouter/v1/chat/completions deepseek/deepseek-r1';
const FALLBACK = '/groq/v1/chat/completions llama-3.3-70b-versatile';

interface Row {
  name: string;
  fault?: Fault | undefined;
  stream: boolean;
  /** The words of the prompt (the context-length row sends more than the primary takes). */
  words?: number;
}

/** Issue 12's table: one misbehaving primary, one healthy fallback, default deadlines. */
const ROWS: Row[] = [
  { name: '429, no Retry-After, persistent', fault: { mode: 'error', status: 429 }, stream: false },
  { name: '429, Retry-After: 2 s, once', fault: { mode: 'error', status: 429, retryAfterS: 2, times: 1 }, stream: false },
  { name: '429, Retry-After: 30 s', fault: { mode: 'error', status: 429, retryAfterS: 30, times: 1 }, stream: false },
  { name: 'no response at all (stream)', fault: { mode: 'hang' }, stream: true },
  { name: 'no response at all (stream: false)', fault: { mode: 'hang' }, stream: false },
  { name: 'slow first token (20 s)', fault: { mode: 'slow', delayMs: 20_000 }, stream: true },
  { name: 'stream stalls after 3 chunks', fault: { mode: 'stall-stream', afterChunks: 3 }, stream: true },
  { name: 'stream cut after 3 chunks', fault: { mode: 'drop-stream', afterChunks: 3 }, stream: true },
  { name: 'one malformed chunk', fault: { mode: 'malformed-chunk', afterChunks: 2 }, stream: true },
  { name: '400 context length exceeded', stream: false, words: 120 },
  { name: '500 once, then healthy', fault: { mode: 'error', status: 500, times: 1 }, stream: false },
  { name: 'connection reset once', fault: { mode: 'reset', times: 1 }, stream: false },
  { name: 'content-policy 400 (kept: not routed around)', fault: { mode: 'error', status: 400, message: 'content policy violation', times: 1 }, stream: false },
];

/**
 * `npm run bench -- failover`: each upstream misbehaviour of issue 12 behind
 * `[openrouter/<misbehaving>, groq/<healthy>]`, through the official openai
 * client, with the shipped default deadlines: what the client got, how many
 * attempts each upstream saw, and the seconds to the answer.
 */
export async function benchFailover(bench: BenchEnv): Promise<void> {
  const upstream = await startOpenAICompatibleEmulator({
    apiKey: 'bench-key',
    models: { openrouter: [{ name: 'deepseek/deepseek-r1', kind: 'chat', contextTokens: 100 }], groq: [{ name: 'llama-3.3-70b-versatile', kind: 'chat' }], together: [] },
    perTokenMs: 20,
  });
  const dir = await mkdtemp(join(tmpdir(), 'mana-bench-failover-'));
  await writeFile(join(dir, 'aliases.yaml'), ALIASES);
  const rows: Array<Array<string | number>> = [];
  try {
    for (const row of ROWS) {
      // A gateway of its own per row: one row's throttle or breaker must not carry into the next.
      const env = bench.env({
        MANA_ALIASES_PATH: join(dir, 'aliases.yaml'),
        OLLAMA_HOSTS: 'gpu0=http://127.0.0.1:9', // unused by this chain
        ...Object.fromEntries(
          ['OPENROUTER', 'GROQ'].flatMap((p) => [
            [`${p}_API_KEY`, 'bench-key'],
            [`${p}_BASE_URL`, `${upstream.url}/${p.toLowerCase()}/v1`],
          ]),
        ),
      });
      const gateway = await startGateway(env);
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 200_000 });
      upstream.faults.clear();
      upstream.stats.reset();
      if (row.fault) upstream.faults.add({ ...row.fault, route: '/openrouter/' });
      const text = Array.from({ length: row.words ?? 8 }, (_, i) => `word${i}`).join(' ');
      const started = performance.now();
      const got = await ask(client, text, row.stream);
      const seconds = (performance.now() - started) / 1000;
      await gateway.stop();
      const seen = upstream.stats.snapshot().requests;
      rows.push([row.name, got, String(seen[PRIMARY] ?? 0), String(seen[FALLBACK] ?? 0), seconds.toFixed(2)]);
    }
  } finally {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
  table('failover: a misbehaving primary, a healthy fallback (default deadlines)', ['upstream behaviour', 'client got', 'primary tries', 'fallback tries', 's to answer'], rows);
}

/** What the client received, in a few words: who answered, or the error; for streams, whether the text is whole. */
async function ask(client: OpenAI, text: string, stream: boolean): Promise<string> {
  try {
    if (!stream) {
      const { data, response } = await client.chat.completions.create({ model: 'mana/rescue', messages: [{ role: 'user', content: text }] }).withResponse();
      return `${response.headers.get('x-mana-provider')}: ${describe(data.choices[0]?.message.content ?? '', text)}`;
    }
    const chunks = await client.chat.completions.create({ model: 'mana/rescue', stream: true, messages: [{ role: 'user', content: text }] });
    let content = '';
    for await (const chunk of chunks) content += chunk.choices[0]?.delta.content ?? '';
    return `stream: ${describe(content, text)}`;
  } catch (err) {
    return `error ${(err as { status?: number }).status ?? ''} ${(err as Error).message.slice(0, 60)}`;
  }
}

function describe(content: string, text: string): string {
  const primary = replyText({ model: 'deepseek/deepseek-r1', lastUserText: text, images: 0, promptWords: 0, json: false });
  const fallback = replyText({ model: 'llama-3.3-70b-versatile', lastUserText: text, images: 0, promptWords: 0, json: false });
  if (content === primary) return 'whole answer (primary)';
  if (content === fallback) return 'whole answer (fallback)';
  const partial = tokenize(primary).slice(0, 3).join('');
  if (content === partial + continuationText('llama-3.3-70b-versatile')) return 'primary 3 chunks + fallback continuation, once each';
  return `other (${content.length} chars)`;
}
