import type { GpuEngine } from '@mana/config';
import { getMany } from './get-many.js';
import { parseHealth } from './health.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** One GPU server as configured. */
export interface GpuSpec {
  name: string;
  /** Jobs it runs at once. */
  slots: number;
  engine: GpuEngine;
  /** Configured cost of loading a model there (ms), until one is measured. */
  loadMs?: number | undefined;
}

/** One GPU server as the fleet knows it now. */
export interface GpuState extends GpuSpec {
  /** Neither probed down nor drained (an unprobed server counts as usable). */
  usable: boolean;
  /** Why it is not usable. */
  reason?: string | undefined;
  /** What it can serve; undefined when it never said (it is then trusted with any model). */
  models: readonly string[] | undefined;
  /** What it holds in memory now, as last probed or last run. */
  loaded: readonly string[];
  /** Jobs it runs now, as its scheduler last wrote. */
  busy: number;
}

export interface Fleet {
  gpus: readonly GpuState[];
}

/** What a server said it can serve and holds (kept long after it goes down: its models still exist). */
export interface Inventory {
  models?: string[] | undefined;
  loaded?: string[] | undefined;
  at: number;
  /** When a scheduler last switched the server's model: a probe that began before then is older news. */
  switchedAt?: number | undefined;
}

/** `gemma3` and `gemma3:latest` are one Ollama model. */
export function sameModel(a: string, b: string): boolean {
  if (a === b) return true;
  const tagged = (n: string) => (n.includes(':') ? n : `${n}:latest`);
  return tagged(a) === tagged(b);
}

export function hasModel(gpu: Pick<GpuState, 'models'>, model: string): boolean {
  return gpu.models === undefined || gpu.models.some((m) => sameModel(m, model));
}

export function hasLoaded(gpu: Pick<GpuState, 'loaded'>, model: string): boolean {
  return gpu.loaded.some((m) => sameModel(m, model));
}

/** The usable servers that can run `model`. */
export function holdersOf(fleet: Fleet, model: string): GpuState[] {
  return fleet.gpus.filter((g) => g.usable && hasModel(g, model));
}

/**
 * Whether any server (usable or not) is known to have `model`: false only
 * when every server has said what it has and none has it.
 */
export function fleetKnows(fleet: Fleet, model: string): boolean {
  return fleet.gpus.some((g) => hasModel(g, model));
}

/** Every model some server said it has, for error messages and /status. */
export function fleetModels(fleet: Fleet): string[] {
  return [...new Set(fleet.gpus.flatMap((g) => g.models ?? []))].sort();
}

/** Reads the fleet's health, drains, inventories and busy counts in one go. */
export async function loadFleet(deps: { redis: RedisClient; keys: Keys }, specs: readonly GpuSpec[]): Promise<Fleet> {
  const names = specs.map((s) => s.name);
  // One read of every GPU's keys: on a Cluster one MGET per GPU (its keys share its slot).
  const raw = await getMany(deps.redis, [
    ...names.map((n) => deps.keys.gpuInventory(n)),
    ...names.map((n) => deps.keys.gpuBusy(n)),
    ...names.map((n) => deps.keys.gpuHealth(n)),
    ...names.map((n) => deps.keys.gpuDrain(n)),
  ]);
  const health = new Map(names.map((n, i) => [n, parseHealth(raw[2 * names.length + i] ?? null)]));
  const drained = new Set(names.filter((_, i) => raw[3 * names.length + i] != null));
  const gpus = specs.map((spec, i): GpuState => {
    const state = health.get(spec.name);
    const inventory = raw[i] ? (JSON.parse(raw[i] as string) as Inventory) : undefined;
    const down = state?.ok === false;
    const isDrained = drained.has(spec.name);
    return {
      ...spec,
      usable: !down && !isDrained,
      reason: isDrained ? 'drained' : down ? state?.detail : undefined,
      models: inventory?.models,
      loaded: inventory?.loaded ?? state?.loadedModels ?? [],
      busy: Number(raw[names.length + i] ?? 0),
    };
  });
  return { gpus };
}
