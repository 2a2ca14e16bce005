import type { AliasStore } from '@mana/aliases';
import type { Config } from '@mana/config';
import type { JobEventHub, Pipeline } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ApiMetrics } from './metrics.js';
import type { ApiKeyStore } from './api-key-store.js';
import type { ReloadBroadcast } from './control/reload-broadcast.js';

/** Everything the HTTP app needs, built once by startApi (or a test) and passed in. */
export interface ApiDeps {
  config: Readonly<Config>;
  log: Logger;
  pipeline: Pipeline;
  hub: JobEventHub;
  aliases: AliasStore;
  metrics: ApiMetrics;
  /** The client keys in force (reloadable from MANA_API_KEYS_FILE). */
  apiKeys: ApiKeyStore;
  /** Reloads of aliases and keys, in this process and broadcast to every API process. */
  reloads: ReloadBroadcast;
  /** This API process among all of them (e.g. the reader of a batch's input file). */
  instanceId: string;
}
