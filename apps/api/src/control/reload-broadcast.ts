import { hostname } from 'node:os';
import type { AliasStore, ReloadOutcome } from '@mana/aliases';
import type { Keys, RedisClient } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ApiKeyStore, KeysReloadOutcome } from '../api-key-store.js';

/** What one API process has in force, as every API process can read it. */
export interface ProcessReport {
  instance: string;
  host: string;
  pid: number;
  aliases: { version: string; loadedAt: string; lastReloadError: string[] | null };
  keys: { count: number; lastReloadError: string | null };
  /** The last reload this process carried out: which request asked for it, and how it went. */
  lastReload: { requestId: string; at: string; aliases: ReloadOutcome; keys: KeysReloadOutcome } | null;
  seenAt: number;
}

/** How often a process renews its report; one not renewed for three of these is gone. */
const REPORT_EVERY_MS = 5_000;
const GONE_AFTER_MS = 3 * REPORT_EVERY_MS;

export interface ReloadBroadcastOptions {
  redis: RedisClient;
  /** A connection in subscriber mode (the process's event subscriber). */
  subscriber: RedisClient;
  keys: Keys;
  instanceId: string;
  aliases: AliasStore;
  apiKeys: ApiKeyStore;
  log: Logger;
}

/**
 * Aliases and API keys are held by each API process. A reload asked of one
 * (the admin call, through any load balancer) is broadcast to all of them
 * over Redis; each reloads, and writes what it has in force into one shared
 * hash, which the asking process waits on and reports process by process.
 */
export class ReloadBroadcast {
  private lastReload: ProcessReport['lastReload'] = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly onMessage = (channel: string, message: string) => {
    if (channel !== this.options.keys.controlChannel()) return;
    const request = parseReload(message);
    if (request) void this.reloadHere(request.requestId).catch((err: unknown) => this.options.log.error({ err }, 'reload failed'));
  };

  private constructor(private readonly options: ReloadBroadcastOptions) {}

  static async start(options: ReloadBroadcastOptions): Promise<ReloadBroadcast> {
    const broadcast = new ReloadBroadcast(options);
    options.subscriber.on('message', broadcast.onMessage);
    await options.subscriber.subscribe(options.keys.controlChannel());
    await broadcast.report();
    broadcast.timer = setInterval(() => void broadcast.report().catch(() => {}), REPORT_EVERY_MS);
    broadcast.timer.unref();
    return broadcast;
  }

  /** Reloads this process's aliases and keys (SIGHUP, or a broadcast), then says so in the shared hash. */
  async reloadHere(requestId = 'local'): Promise<NonNullable<ProcessReport['lastReload']>> {
    const aliases = await this.options.aliases.reload();
    const keys = this.options.apiKeys.reload();
    if (!keys.ok) this.options.log.error({ error: keys.error }, 'API keys reload failed; keeping the keys in force');
    else this.options.log.info({ keys: keys.keys }, 'API keys reloaded');
    this.lastReload = { requestId, at: new Date().toISOString(), aliases, keys };
    await this.report().catch(() => {});
    return this.lastReload;
  }

  /**
   * Asks every API process to reload and waits (up to `waitMs`) until each
   * live one has reported back. Processes that did not answer in time are
   * listed as such.
   */
  async reloadEverywhere(requestId: string, waitMs = 3_000): Promise<{ processes: ProcessReport[]; silent: string[] }> {
    const { redis, keys } = this.options;
    const live = (await this.processes()).map((p) => p.instance);
    await redis.publish(keys.controlChannel(), JSON.stringify({ type: 'reload', requestId }));
    const deadline = Date.now() + waitMs;
    for (;;) {
      const processes = await this.processes();
      const done = processes.filter((p) => p.lastReload?.requestId === requestId);
      const silent = live.filter((id) => !done.some((p) => p.instance === id));
      if (silent.length === 0 || Date.now() >= deadline) return { processes: done, silent };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Every API process seen lately, with what it has in force; forgets the ones gone quiet. */
  async processes(): Promise<ProcessReport[]> {
    const { redis, keys } = this.options;
    const raw = await redis.hgetall(keys.apiProcesses());
    const now = Date.now();
    const reports: ProcessReport[] = [];
    for (const [instance, json] of Object.entries(raw)) {
      const report = JSON.parse(json) as ProcessReport;
      if (now - report.seenAt > GONE_AFTER_MS) void redis.hdel(keys.apiProcesses(), instance).catch(() => {});
      else reports.push(report);
    }
    return reports.sort((a, b) => a.instance.localeCompare(b.instance));
  }

  private async report(): Promise<void> {
    const { redis, keys, aliases, apiKeys, instanceId } = this.options;
    const status = aliases.status();
    const keysError = this.lastReload && !this.lastReload.keys.ok ? this.lastReload.keys.error : null;
    const report: ProcessReport = {
      instance: instanceId,
      host: hostname(),
      pid: process.pid,
      aliases: { version: status.version, loadedAt: status.loadedAt, lastReloadError: status.lastReloadError?.issues ?? null },
      keys: { count: apiKeys.current().length, lastReloadError: keysError },
      lastReload: this.lastReload,
      seenAt: Date.now(),
    };
    await redis.hset(keys.apiProcesses(), instanceId, JSON.stringify(report));
    // Bounded however many processes come and go: the hash lives while someone reports into it.
    await redis.pexpire(keys.apiProcesses(), GONE_AFTER_MS * 4);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.options.subscriber.off('message', this.onMessage);
    await this.options.redis.hdel(this.options.keys.apiProcesses(), this.options.instanceId).catch(() => {});
  }
}

function parseReload(message: string): { requestId: string } | undefined {
  try {
    const parsed = JSON.parse(message) as { type?: unknown; requestId?: unknown };
    return parsed.type === 'reload' && typeof parsed.requestId === 'string' ? { requestId: parsed.requestId } : undefined;
  } catch {
    return undefined;
  }
}
