import type { AliasTable } from '@mana/aliases';
import { isLocalProvider } from '@mana/config';
import { type Fleet, fleetKnows, fleetModels } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ApiDeps } from '../deps.js';

export interface MissingTarget {
  alias: string;
  target: string;
}

/** Local targets of the aliases that no GPU server has (each such hop moves on at once, or fails). */
export function missingTargets(table: AliasTable, fleet: Fleet): MissingTarget[] {
  return Object.values(table.aliases).flatMap((alias) =>
    alias.chain.filter((t) => isLocalProvider(t.provider) && !fleetKnows(fleet, t.model)).map((t) => ({ alias: alias.name, target: t.id })),
  );
}

/** What /status shows of the fleet: each server's capacity, engine, models and what it holds now. */
export function fleetStatus(fleet: Fleet, table: AliasTable) {
  return {
    models: fleetModels(fleet),
    missingTargets: missingTargets(table, fleet),
    gpus: Object.fromEntries(fleet.gpus.map((g) => [g.name, { engine: g.engine, slots: g.slots, busy: g.busy, usable: g.usable, models: g.models ?? null, loaded: g.loaded }])),
  };
}

const WAIT_FOR_INVENTORY_MS = 30_000;
const LOOK_EVERY_MS = 1_000;

/**
 * Logs once at start-up (when every server has said what it has, or after
 * 30 s) which alias targets no GPU has: such targets cost every request a
 * hop, and usually mean a model was not pulled.
 */
export function reportMissingTargetsOnce(deps: Pick<ApiDeps, 'pipeline' | 'aliases'>, log: Logger): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    void (async () => {
      const fleet = await deps.pipeline.cache.fleet.get();
      const known = fleet.gpus.every((g) => g.models !== undefined);
      if (!known && Date.now() - started < WAIT_FOR_INVENTORY_MS) return;
      clearInterval(timer);
      const missing = missingTargets(deps.aliases.current(), fleet);
      if (missing.length > 0)
        log.warn({ missing, fleet: fleetModels(fleet) }, 'alias targets missing from the GPU fleet: no GPU server has these models (pull them, or fix aliases.yaml)');
      else log.info({ fleet: fleetModels(fleet) }, 'every local alias target is on some GPU server');
    })().catch(() => {});
  }, LOOK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
