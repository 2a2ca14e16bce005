import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

/**
 * Images by http(s) URL: fetched by the gateway, bounded and safe. The test's
 * image server is on loopback, which only the operator's allow-list
 * (MANA_IMAGE_FETCH_ALLOW=127.0.0.1) opens; every other private address stays shut.
 */
let stack: Stack;
let client: OpenAI;
let images: Server;
let base = '';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

beforeAll(async () => {
  images = createServer((req, res) => {
    if (req.url === '/cat.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    if (req.url === '/big.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(11 * 1024 * 1024));
    if (req.url === '/page') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    if (req.url === '/moved') return void res.writeHead(302, { location: '/cat.png' }).end();
    if (req.url === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (req.url === '/slow') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  stack = await startStack({ env: { MANA_IMAGE_FETCH_ALLOW: '127.0.0.1', MANA_IMAGE_FETCH_TIMEOUT_MS: '500' } });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  images.closeAllConnections();
  images.close();
  await stack?.close();
});

const look = (url: string) =>
  client.chat.completions.create({
    model: 'mana/vision',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this' },
          { type: 'image_url', image_url: { url } },
        ],
      },
    ],
  });

const refusal = async (url: string) => {
  const err = (await look(url).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  return { status: err.status, message: err.message, param: (err.error as { param?: string } | undefined)?.param };
};

describe('images given by URL', () => {
  it('are fetched by the gateway and reach the model inline, through a redirect too', async () => {
    for (const path of ['/cat.png', '/moved']) {
      const answer = await look(`${base}${path}`);
      expect(answer.choices[0]?.message.content).toContain('[saw 1 image]');
      // The last chat call (the GPU's probes are requests too).
      const sent = stack.gpus[0]!.stats.snapshot()
        .recent.filter((r) => r.path === '/api/chat')
        .at(-1)?.body as { messages: Array<{ images?: string[] }> };
      expect(sent.messages.at(-1)?.images).toEqual([PNG.toString('base64')]);
    }
  });

  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/', /refusing to fetch from 169\.254\.169\.254/],
    ['a private address', 'http://10.1.2.3/cat.png', /refusing to fetch from 10\.1\.2\.3/],
    ['loopback the allow-list does not name (IPv6)', 'http://[::1]:9/cat.png', /refusing to fetch/],
    ['a redirect to the metadata address', '/to-metadata', /refusing to fetch from 169\.254\.169\.254/],
    ['a redirect loop', '/loop', /more than 3 redirects/],
    ['a page that is not an image', '/page', /not an image \(content-type text\/html\)/],
    ['a server that never answers', '/slow', /took too long/],
    ['a scheme other than http(s)', 'ftp://example.com/cat.png', /expected an http\(s\) URL or an inline image/],
    ['IPv4-mapped IPv6 of a private address', 'http://[::ffff:10.0.0.1]/x.png', /refusing to fetch from ::ffff:a00:1/],
  ])('refuses %s with a 400 naming the part', async (_name, url, message) => {
    const got = await refusal(url.startsWith('/') ? `${base}${url}` : url);
    expect(got.status).toBe(400);
    expect(got.param).toBe('messages.0.content.1.image_url');
    expect(got.message).toMatch(message);
  });

  it('refuses an image over the limit with 413', async () => {
    expect((await refusal(`${base}/big.png`)).status).toBe(413);
  });
});
