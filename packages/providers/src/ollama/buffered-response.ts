import { parseLargeEmbedJson } from './large-embed-json.js';

/**
 * A whole HTTP response already read into memory, answered as a fetch
 * `Response`. ollama-js reads a non-streamed answer with `json()` (or
 * `text()` for an error); a `Response` built by undici routes those through
 * a web stream and its body mixin, which cost the gateway ~50–100 µs of CPU
 * per GPU call (a third of the call's client side, measured against the
 * emulator). This parses the buffer directly. Every other part of the
 * interface still works, the body stream made only when someone asks.
 */
export class BufferedResponse implements Response {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type: Response['type'] = 'basic';
  private used = false;
  private real: Response | undefined;

  constructor(
    private readonly bytesRead: Buffer,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    readonly url: string,
  ) {
    this.ok = status >= 200 && status < 300;
  }

  get bodyUsed(): boolean {
    return this.used || (this.real?.bodyUsed ?? false);
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.asResponse().body;
  }

  json(): Promise<unknown> {
    if (this.real) return this.real.json() as Promise<unknown>;
    return this.take().then((bytes) => parseLargeEmbedJson(bytes) ?? (JSON.parse(bytes.toString('utf8')) as unknown));
  }

  text(): Promise<string> {
    if (this.real) return this.real.text();
    return this.take().then((bytes) => bytes.toString('utf8'));
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.asResponse().arrayBuffer();
  }

  bytes(): Promise<Uint8Array> {
    return this.asResponse()
      .arrayBuffer()
      .then((buffer) => new Uint8Array(buffer));
  }

  blob(): Promise<Blob> {
    return this.asResponse().blob();
  }

  formData(): Promise<FormData> {
    return this.asResponse().formData();
  }

  clone(): Response {
    if (this.real) return this.real.clone();
    if (this.used) throw new TypeError('Response.clone: the body has already been read');
    return new BufferedResponse(this.bytesRead, this.status, this.statusText, this.headers, this.url);
  }

  /** The body, once, as fetch's Response allows. */
  private take(): Promise<Buffer> {
    if (this.used) return Promise.reject(new TypeError('Body is unusable: the body has already been read'));
    this.used = true;
    return Promise.resolve(this.bytesRead);
  }

  /**
   * A real Response of the same bytes, made once and used from then on, for the parts of the
   * interface nothing on the hot path uses (the body stream, blobs, form data); without a body
   * once json() or text() has read it.
   */
  private asResponse(): Response {
    if (this.real) return this.real;
    const noBody = this.status === 204 || this.status === 304 || this.used;
    this.real = new Response(noBody ? null : this.bytesRead, { status: this.status, statusText: this.statusText, headers: this.headers });
    return this.real;
  }
}
