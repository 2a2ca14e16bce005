import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Fault, FaultInjector, FaultSchema } from './faults.js';
import { HttpError, clientGone, pause, readJson, sendJson } from './http.js';
import { EmulatorStats } from './stats.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** Fires when the client goes away: stop generating. */
  signal: AbortSignal;
  /** A fault the handler itself must play out (mid-stream ones, error-200). */
  fault: Fault | undefined;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

export interface ProviderProtocol {
  name: string;
  /** The handler for a method and path, or undefined for 404. */
  route(method: string, path: string): Handler | undefined;
  /** The provider's own error body for a status (with, for a 429, how long to wait, if it says). */
  errorBody(status: number, message: string | undefined, retryAfterS?: number): unknown;
  modelOf(path: string, body: unknown): string | undefined;
  isStream(path: string, body: unknown, query: URLSearchParams): boolean;
  /** Called on reset of the admin state, for protocol-held state (e.g. loaded models). */
  reset?(): void;
  /** Protocol-held counters added to GET /_emulator/stats (e.g. model loads). */
  extraStats?(): Record<string, unknown>;
}

export interface ListenOptions {
  /** @defaultValue 0 (any free port) */
  port?: number;
  /** @defaultValue 127.0.0.1 */
  host?: string;
}

/**
 * The HTTP side every emulator shares: listening, going down and up,
 * scripted faults, request accounting, and the admin routes under /_emulator.
 */
export class Emulator {
  readonly stats = new EmulatorStats();
  readonly faults = new FaultInjector();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private address: { host: string; port: number } | undefined;
  private isDown = false;
  private upTimer: NodeJS.Timeout | undefined;

  constructor(private readonly protocol: ProviderProtocol) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get name(): string {
    return this.protocol.name;
  }

  get port(): number {
    if (!this.address) throw new Error(`${this.name} emulator is not listening`);
    return this.address.port;
  }

  /** Base URL, e.g. http://127.0.0.1:41234 */
  get url(): string {
    return `http://${this.address?.host ?? '127.0.0.1'}:${this.port}`;
  }

  async listen(options: ListenOptions = {}): Promise<this> {
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = { host, port: (this.server.address() as AddressInfo).port };
    return this;
  }

  /** Stops listening and drops every connection: clients see connection refused. */
  async down(forMs?: number): Promise<void> {
    clearTimeout(this.upTimer);
    if (!this.isDown) {
      this.isDown = true;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      await closed;
    }
    if (forMs) this.upTimer = setTimeout(() => void this.up(), forMs);
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    clearTimeout(this.upTimer);
    if (!this.isDown || !this.address) return;
    this.isDown = false;
    await this.listen(this.address);
  }

  async close(): Promise<void> {
    clearTimeout(this.upTimer);
    for (const socket of this.sockets) socket.destroy();
    if (!this.isDown) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.isDown = true;
  }

  /** Clears faults and counters. */
  reset(): void {
    this.faults.clear();
    this.stats.reset();
    this.protocol.reset?.();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    try {
      if (url.pathname.startsWith('/_emulator/')) return await this.admin(req, res, url.pathname);
      const handler = this.protocol.route(req.method ?? 'GET', url.pathname);
      if (!handler) throw new HttpError(404, this.protocol.errorBody(404, `no route ${req.method} ${url.pathname}`));
      const body = req.method === 'POST' ? await readJson(req, (m) => new HttpError(400, this.protocol.errorBody(400, m))) : undefined;
      const model = this.protocol.modelOf(url.pathname, body);
      this.stats.record(req.method ?? 'GET', url.pathname, model, req.headers, body);
      const signal = clientGone(req, res);
      const fault = this.faults.pick(req.method ?? 'GET', url.pathname, model, this.protocol.isStream(url.pathname, body, url.searchParams));
      if (fault) this.stats.faulted();
      // In flight from arrival to the last byte, waiting for a slot included.
      const leave = req.method === 'POST' ? this.stats.enter() : () => {};
      try {
        if (fault && (await this.playFault(fault, req, res, signal))) return;
        await handler({ req, res, path: url.pathname, query: url.searchParams, body, signal, fault });
      } finally {
        leave();
      }
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendJson(res, err.status, err.body);
      sendJson(res, 500, this.protocol.errorBody(500, err instanceof Error ? err.message : String(err)));
    }
  }

  /** Plays a fault that happens before any handler work; true when the request is finished. */
  private async playFault(fault: Fault, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<boolean> {
    switch (fault.mode) {
      case 'reset':
        req.socket.destroy();
        return true;
      case 'hang':
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return true;
      case 'slow':
        await pause(fault.delayMs ?? 1_000, signal);
        return signal.aborted;
      case 'error': {
        const status = fault.status ?? 500;
        // Every provider but Gemini says how long to wait in a header; Gemini says it in the body.
        const retryAfter = fault.retryAfterS !== undefined && this.protocol.name !== 'gemini' ? { 'retry-after': String(fault.retryAfterS) } : undefined;
        sendJson(res, status, this.protocol.errorBody(status, fault.message, fault.retryAfterS), retryAfter ?? {});
        return true;
      }
      default:
        return false;
    }
  }

  private async admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    if (route === 'GET /_emulator/stats') return sendJson(res, 200, { ...this.stats.snapshot(), ...this.protocol.extraStats?.() });
    if (route === 'GET /_emulator/faults') return sendJson(res, 200, this.faults.list());
    if (route === 'POST /_emulator/faults') {
      const parsed = FaultSchema.safeParse(await readJson(req, (m) => new HttpError(400, { error: m })));
      if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      if (parsed.data.mode === 'down') {
        sendJson(res, 202, { down: true, forMs: parsed.data.forMs ?? null }, { connection: 'close' });
        res.on('finish', () => void this.down(parsed.data.forMs));
        return;
      }
      this.faults.add(parsed.data);
      return sendJson(res, 201, this.faults.list());
    }
    if (route === 'DELETE /_emulator/faults') {
      this.faults.clear();
      return sendJson(res, 200, []);
    }
    if (route === 'POST /_emulator/reset') {
      this.reset();
      return sendJson(res, 200, { reset: true });
    }
    sendJson(res, 404, { error: `no admin route ${route}` });
  }
}
