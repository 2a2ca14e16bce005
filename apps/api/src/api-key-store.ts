import { type ApiKey, type Config, readApiKeysFile } from '@mana/config';

export type KeysReloadOutcome = { ok: true; keys: number } | { ok: false; keys: number; error: string };

/**
 * The client keys in force. MANA_API_KEYS is fixed for the process's life;
 * MANA_API_KEYS_FILE is re-read on every reload, so a key is added or
 * revoked without a restart. A file that cannot be read or parsed leaves
 * the keys in force as they were. Whether keys are required at all is
 * decided once, at start-up: a reload that leaves no key refuses everyone,
 * it never opens the gateway up as development mode.
 */
export class ApiKeyStore {
  private keys: readonly ApiKey[] = [];
  /** Tenants' weights from the keys in force, read once per reload (looked up per job). */
  private weights = new Map<string, number>();
  private tenants = 0;
  readonly required: boolean;

  constructor(private readonly auth: Config['auth']) {
    this.use(auth.keys);
    this.required = auth.keys.length > 0;
  }

  private use(keys: readonly ApiKey[]): void {
    this.keys = keys;
    this.weights = new Map(keys.flatMap((k) => (k.weight !== undefined ? [[k.tenant, k.weight] as const] : [])));
    this.tenants = new Set(keys.map((k) => k.tenant)).size;
  }

  /** True while every request acts for one tenant (no keys required, or all of them one tenant's): fair share has no one to share with. */
  get soleTenant(): boolean {
    return !this.required || this.tenants <= 1;
  }

  current(): readonly ApiKey[] {
    return this.keys;
  }

  /** The tenant's fair-share weight from MANA_API_KEYS_FILE (`weight=N`) as last read; undefined when no line gives one. */
  weightOf(tenant: string): number | undefined {
    return this.weights.get(tenant);
  }

  reload(): KeysReloadOutcome {
    if (!this.auth.keysFile) return { ok: true, keys: this.keys.length };
    const fromFile = readApiKeysFile(this.auth.keysFile);
    if (!fromFile.ok) return { ok: false, keys: this.keys.length, error: `MANA_API_KEYS_FILE: ${fromFile.error}; the keys in force are kept` };
    this.use([...this.auth.envKeys, ...fromFile.value]);
    return { ok: true, keys: this.keys.length };
  }
}
