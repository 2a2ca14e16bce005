import type { AliasStore } from '@mana/aliases';
import type { Config } from '@mana/config';
import type { JobEventHub, Pipeline } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ApiMetrics } from './metrics.js';

/** Everything the HTTP app needs, built once by startApi (or a test) and passed in. */
export interface ApiDeps {
  config: Readonly<Config>;
  log: Logger;
  pipeline: Pipeline;
  hub: JobEventHub;
  aliases: AliasStore;
  metrics: ApiMetrics;
  /** This API process among all of them (e.g. the reader of a batch's input file). */
  instanceId: string;
}
