import { lookup } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ManaError, ValidationError } from '@mana/errors';

/** Addresses a fetch on a client's behalf must never reach: the gateway's own host, its network, the cloud metadata service. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, 169.254.169.254 the metadata service
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

const MAX_REDIRECTS = 3;

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries. */
function isPrivate(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

export interface ImageFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Hosts, addresses or CIDR ranges the operator lets fetches reach although private. */
  allow: readonly string[];
}

export interface FetchedImage {
  mimeType: string;
  data: string;
}

/**
 * Fetches an image a request names by http(s) URL, bounded and safe: the
 * address every hop resolves to is checked at connect time (so a DNS answer
 * cannot switch to a private address after the check), at most three
 * redirects, the deadline over the whole fetch, the body cut at the image
 * limit, and the content type must be an image. Every refusal is a 400 (413
 * for size) naming the part.
 */
export async function fetchImage(url: string, field: string, options: ImageFetchOptions): Promise<FetchedImage> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let current = parseUrl(url, field);
  for (let redirects = 0; ; redirects++) {
    const response = await get(current, field, options, deadline);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      if (redirects >= MAX_REDIRECTS) throw new ValidationError(`${field}: more than ${MAX_REDIRECTS} redirects fetching the image`, field);
      current = parseUrl(new URL(response.headers.location, current).toString(), field);
      continue;
    }
    if (status !== 200) {
      response.resume();
      throw new ValidationError(`${field}: fetching the image answered HTTP ${status}`, field);
    }
    const mimeType = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!mimeType.startsWith('image/')) {
      response.resume();
      throw new ValidationError(`${field}: the URL is not an image (content-type ${mimeType || 'none'})`, field);
    }
    return { mimeType, data: (await readBounded(response, field, options.maxBytes)).toString('base64') };
  }
}

function parseUrl(url: string, field: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`${field}: not a valid URL`, field);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError(`${field}: only http(s) and data: image URLs are supported`, field);
  return parsed;
}

function get(url: URL, field: string, options: ImageFetchOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  // A literal address connects without any lookup: it is checked here instead.
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && isPrivate(literal) && !allowed(literal, literal, options.allow)) {
    return Promise.reject(new ValidationError(`${field}: refusing to fetch from ${literal}: a private, loopback or link-local address`, field));
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', signal, lookup: vettedLookup(url.hostname, field, options.allow), headers: { accept: 'image/*' } }, resolve);
    req.on('error', (err: Error) => reject(refusal(err, field, signal)));
    req.end();
  });
}

/** Resolves as usual, then refuses a private address the allow-list does not name. A literal IP in the URL goes through the same check. */
function vettedLookup(hostname: string, field: string, allow: readonly string[]): LookupFunction {
  return (host, opts, callback) => {
    lookup(host, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = Array.isArray(addresses) ? addresses : [];
      const bad = list.find((a) => isPrivate(a.address) && !allowed(hostname, a.address, allow));
      if (bad || list.length === 0) {
        return callback(
          new ValidationError(`${field}: refusing to fetch from ${hostname} (${bad?.address ?? 'no address'}): a private, loopback or link-local address`, field),
          '',
          4,
        );
      }
      const first = list[0]!;
      if ((opts as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      callback(null, first.address, first.family);
    });
  };
}

function allowed(hostname: string, address: string, allow: readonly string[]): boolean {
  return allow.some((entry) => {
    if (entry === hostname || entry === address) return true;
    const [net, bits] = entry.split('/');
    if (!net || bits === undefined || !isIP(net) || isIP(net) !== isIP(address)) return false;
    const list = new BlockList();
    list.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
    return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  });
}

function refusal(err: Error, field: string, signal: AbortSignal): Error {
  if (err instanceof ManaError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ManaError) return cause;
  if (signal.aborted) return new ValidationError(`${field}: fetching the image took too long`, field);
  return new ValidationError(`${field}: could not fetch the image (${(err as NodeJS.ErrnoException).code ?? err.message})`, field);
}

async function readBounded(response: IncomingMessage, field: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      response.destroy();
      throw new ManaError('payload_too_large', `${field}: the image is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

type ChatBody = { messages: Array<{ content?: unknown }> };

/**
 * A chat request whose images given by http(s) URL are fetched and put
 * inline as data: URLs (all at once, at most `maxImages`), so the rest of
 * the gateway, the queue and every provider see one form of image.
 */
export async function inlineImageUrls<T extends ChatBody>(body: T, options: ImageFetchOptions & { maxImages: number }): Promise<T> {
  const remote: Array<{ part: { image_url: string | { url: string } }; url: string; field: string }> = [];
  body.messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((p: { type?: string; image_url?: string | { url: string } }, j) => {
      if (p.type !== 'image_url' || p.image_url === undefined) return;
      const url = typeof p.image_url === 'string' ? p.image_url : p.image_url.url;
      if (/^https?:/i.test(url)) remote.push({ part: p as { image_url: string | { url: string } }, url, field: `messages.${i}.content.${j}.image_url` });
    });
  });
  if (remote.length === 0) return body;
  if (remote.length > options.maxImages) throw new ValidationError(`messages: at most ${options.maxImages} images per request, got ${remote.length} by URL`, 'messages');
  const fetched = await Promise.all(remote.map((r) => fetchImage(r.url, r.field, options)));
  remote.forEach((r, k) => {
    const dataUrl = `data:${fetched[k]!.mimeType};base64,${fetched[k]!.data}`;
    r.part.image_url = typeof r.part.image_url === 'string' ? dataUrl : { ...r.part.image_url, url: dataUrl };
  });
  return body;
}
