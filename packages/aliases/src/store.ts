import { ConfigError } from '@mana/errors';
import { type AliasIssue, formatIssue } from './issue.js';
import { loadAliasFile } from './load.js';
import type { AliasTable } from './table.js';

/** The shape of logger the store writes to; a pino logger fits it. */
export interface AliasLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ReloadError {
  at: string;
  /** Formatted `file:line:col: error: path: message` lines. */
  issues: string[];
}

export interface AliasStoreStatus {
  path: string;
  version: string;
  loadedAt: string;
  aliases: number;
  lastReloadError: ReloadError | null;
}

export type ReloadOutcome = { ok: true; version: string; changed: boolean } | { ok: false; version: string; issues: string[] };

/**
 * Holds the aliases in force. Readers take `current()` once per request and
 * keep that table, so a reload can never show anyone half a file: the swap
 * is a single reference assignment of a fully validated, frozen table.
 */
export class AliasStore {
  private table: AliasTable;
  private lastError: ReloadError | null = null;
  private pending: Promise<ReloadOutcome> = Promise.resolve({ ok: true, version: '', changed: false });

  private constructor(
    readonly path: string,
    initial: AliasTable,
    private readonly log: AliasLog,
  ) {
    this.table = initial;
  }

  /** Loads the file at start-up; an invalid file is a ConfigError (the process must not start). */
  static async open(path: string, log: AliasLog): Promise<AliasStore> {
    const result = await loadAliasFile(path);
    if (!result.ok) {
      throw new ConfigError(
        result.issues.map((i) => ({ key: path, message: formatIssue(i, path) })),
        `invalid aliases file ${path}`,
      );
    }
    logWarnings(log, path, result.warnings);
    return new AliasStore(path, result.table, log);
  }

  current(): AliasTable {
    return this.table;
  }

  status(): AliasStoreStatus {
    return {
      path: this.path,
      version: this.table.version,
      loadedAt: this.table.loadedAt,
      aliases: Object.keys(this.table.aliases).length,
      lastReloadError: this.lastError,
    };
  }

  /** Re-reads the file. Reloads run one at a time, in the order they were asked for. */
  reload(): Promise<ReloadOutcome> {
    this.pending = this.pending.then(() => this.reloadNow());
    return this.pending;
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    const result = await loadAliasFile(this.path);
    if (!result.ok) {
      const issues = result.issues.map((i) => formatIssue(i, this.path));
      this.lastError = { at: new Date().toISOString(), issues };
      this.log.error({ path: this.path, issues, keptVersion: this.table.version }, 'aliases reload failed; keeping the previous aliases');
      return { ok: false, version: this.table.version, issues };
    }
    const changed = result.table.version !== this.table.version;
    this.table = result.table;
    this.lastError = null;
    logWarnings(this.log, this.path, result.warnings);
    this.log.info({ path: this.path, version: result.table.version, changed }, 'aliases reloaded');
    return { ok: true, version: result.table.version, changed };
  }
}

function logWarnings(log: AliasLog, path: string, warnings: readonly AliasIssue[]): void {
  if (warnings.length > 0) log.warn({ path, warnings: warnings.map((w) => formatIssue(w, path)) }, 'aliases file has warnings');
}
