import { randomUUID } from 'node:crypto';
import { type AliasTable, type Capability, type Resolution, type Target, resolveModel } from '@mana/aliases';
import { isLocalProvider, servesCompletions, servesLogprobs } from '@mana/config';
import { NotFoundError, ValidationError, serializeError } from '@mana/errors';
import {
  type HopPayload,
  type HopTarget,
  type JobEvent,
  type NewJob,
  type Priority,
  type Work,
  admitTenantJob,
  dispatchDecision,
  dispatchHop,
  dispatchMany,
  fleetKnows,
  fleetModels,
  releaseTenantJob,
  soleTenantTags,
  tagEarly,
} from '@mana/jobs';
import type { ApiDeps } from './deps.js';
import { admitTokens, applyBudget } from './tenant-admission.js';

export interface Submission {
  /** A job id chosen by the caller (e.g. claimed for an Idempotency-Key); a new one otherwise. */
  id?: string | undefined;
  work: Work;
  /** The client's `model`: an alias, provider/model, a bare Ollama model, or absent for the default. */
  model: string | undefined;
  priority: Priority;
  /** Tolerance for waiting on a GPU; undefined takes the priority's default, null never spills for overflow. */
  maxWaitMs?: number | null | undefined;
  tenant?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** The batch this job is an item of. */
  batch?: { id: string; customId: string } | undefined;
  /**
   * Run on the chain's first target only, waiting for it rather than moving
   * on: an embedding batch's vectors must all come from one model.
   */
  pinned?: boolean | undefined;
  /** A pinned job retries its target after retryable failures until then (its batch's completion window). */
  retryUntil?: number | undefined;
}

export interface Accepted {
  id: string;
  resolution: Resolution;
  chain: readonly Target[];
  /** Stops the listener given to submitJob (if any). */
  unsubscribe: () => void;
}

/**
 * Accepts a job: resolve the model to a chain (with the aliases in force
 * now: the job keeps that chain whatever reloads follow), write the record,
 * subscribe the listener, then dispatch hop 0. If dispatch fails the record
 * is failed too, so no job is ever left half-written.
 */
export async function submitJob(deps: ApiDeps, submission: Submission, listener?: (event: JobEvent) => void): Promise<Accepted> {
  const { pipeline, config } = deps;
  await admitTokens(deps, submission.tenant, submission.work);
  const plan = await planJob(deps, submission);
  const { id, chain } = plan;
  const limit = config.auth.tenantMaxQueued;
  const counted = limit > 0 && submission.tenant !== undefined && !submission.batch;
  if (counted) await admitTenantJob(pipeline, submission.tenant!, id, limit);
  // Registered before the record exists, so not one event can slip past (from seq 1, 'queued', on).
  // A client that reads the answer whole needs only the job's end: the reply channel carries no
  // more (two messages fewer to publish, read and parse per request; the stream keeps them all).
  const endsOnly = !(submission.work.kind === 'chat' && submission.work.stream);
  const unsubscribe = listener ? deps.hub.listen(id, listener, { endsOnly }) : () => {};
  const hop = hopZero(deps, submission, plan);
  // Where hop 0 goes is read (GPU health, backlog), and its fair-share place in its first target's
  // queue taken, while the record is written: one round trip, not three. The place is given back
  // if the hop goes elsewhere.
  const decided = dispatchDecision(pipeline, hop);
  // A lone tenant shares with no one: its hops need no fair-share tags (see soleTenantTags), a script less per job.
  const tagged = deps.apiKeys.soleTenant ? Promise.resolve(soleTenantTags(hop.priority, 1)) : tagEarly(pipeline, hop);
  decided.catch(() => {}); // awaited below, unless the record could not be written
  tagged?.catch(() => {});
  try {
    await pipeline.records.create({ ...newJob(submission, plan, listener ? deps.hub.channel : undefined, counted), replyEndsOnly: endsOnly });
  } catch (err) {
    unsubscribe();
    void tagged?.then((tags) => tags.release()).catch(() => {});
    if (counted) await releaseTenantJob(pipeline, submission.tenant!, id);
    throw err;
  }
  try {
    const attributes = { 'mana.job_id': id, 'mana.model': plan.resolution.requested, 'mana.priority': submission.priority };
    await pipeline.tracing.span('mana.submit', attributes, () => dispatchHop(pipeline, hop, decided, tagged));
  } catch (err) {
    unsubscribe();
    await pipeline.records.fail(id, -1, serializeError(err)).catch(() => {});
    throw err;
  }
  return { id, resolution: plan.resolution, chain, unsubscribe };
}

/**
 * Accepts many jobs nobody waits on (a batch's lines) in few round trips:
 * records are written together and hop 0 goes to BullMQ with addBulk. Each
 * result is the job's id, or why that one job was refused; a job whose
 * dispatch failed is failed too, never left half-written.
 */
export async function submitMany(deps: ApiDeps, submissions: readonly Submission[]): Promise<Array<{ id: string } | { error: unknown }>> {
  const { pipeline } = deps;
  type Item = { ok: true; submission: Submission; plan: Plan; queue: boolean } | { ok: false; error: unknown };
  const planned = await Promise.all(
    submissions.map(async (submission): Promise<Item> => {
      try {
        return { ok: true, submission, plan: await planJob(deps, submission), queue: true };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
  const created = await Promise.all(
    planned.map(async (item): Promise<Item> => {
      if (!item.ok) return item;
      try {
        if (await pipeline.records.create(newJob(item.submission, item.plan, undefined, false))) return item;
        // The id exists: a batch reader resuming after one that died met a line already made a
        // job. Its hop 0 is queued again only if it may never have reached BullMQ, which ignores
        // an id it holds; a job that started, moved on or finished is left alone.
        const record = await pipeline.records.get(item.plan.id);
        const first = record?.hops[0];
        return { ...item, queue: record?.status === 'queued' && record.hop === 0 && first?.startedAt === undefined && first?.retries === undefined };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
  const ready = created.flatMap((item) => (item.ok && item.queue ? [hopZero(deps, item.submission, item.plan)] : []));
  const failed = await pipeline.tracing.span('mana.submit_many', { 'mana.jobs': ready.length }, () => dispatchMany(pipeline, ready));
  await Promise.all([...failed].map(([id, err]) => pipeline.records.fail(id, -1, serializeError(err)).catch(() => {})));
  return created.map((item) => {
    if (!item.ok) return { error: item.error };
    return failed.has(item.plan.id) ? { error: failed.get(item.plan.id) } : { id: item.plan.id };
  });
}

interface Plan {
  id: string;
  resolution: Resolution;
  chain: HopTarget[];
  maxWaitMs: number | null;
}

/** Resolves the model to a chain with the aliases in force now: the job keeps that chain whatever reloads follow. */
async function planJob(deps: ApiDeps, submission: Submission): Promise<Plan> {
  const { config } = deps;
  const table = deps.aliases.current();
  const resolution = resolveModel(table, submission.model, { kind: submission.work.kind, googleDefaultModel: config.google.defaultModel });
  await refuseUnknownBareModel(deps, table, resolution);
  const capable = withProviderFeatures(withCapabilities(table, resolution, needs(submission.work)), submission.work, resolution.requested).map((t) => described(table, t));
  const budgeted = await applyBudget(deps, submission.tenant, config.autoFallbackEnabled && !submission.pinned ? capable : capable.slice(0, 1));
  const chain = budgeted.chain;
  // A tenant over its cloud budget waits for the GPUs (see applyBudget).
  const maxWaitMs = budgeted.localOnly ? null : submission.maxWaitMs !== undefined ? submission.maxWaitMs : defaultMaxWait(deps, submission.priority);
  return { id: submission.id ?? `job_${randomUUID().replaceAll('-', '')}`, resolution, chain, maxWaitMs };
}

/**
 * A bare model name (no alias, no `provider/`) that aliases.yaml does not
 * describe and no GPU server has is a mistake (a typo, a model not pulled,
 * `gpt-4o` sent to the wrong gateway): 404 naming what exists, rather than
 * a paid cloud answer that hides it. Until every server has said what it
 * has, a name is given the benefit of the doubt.
 */
async function refuseUnknownBareModel(deps: ApiDeps, table: AliasTable, resolution: Resolution): Promise<void> {
  const first = resolution.chain[0];
  if (resolution.alias !== null || !first || !isLocalProvider(first.provider) || resolution.requested.startsWith(`${first.provider}/`)) return;
  const described =
    table.models[first.id] !== undefined ||
    table.modelMap[first.model] !== undefined ||
    table.modelMap[first.model.replace(/:latest$/, '')] !== undefined ||
    Object.values(table.aliases).some((a) => a.chain.some((t) => t.id === first.id));
  if (described) return;
  const fleet = await deps.pipeline.cache.fleet.get();
  if (fleetKnows(fleet, first.model)) return;
  const models = fleetModels(fleet);
  throw new NotFoundError(
    `model "${resolution.requested}" is not an alias, a target aliases.yaml describes, nor a model any GPU server has; aliases: ${Object.keys(table.aliases).join(', ')}; GPU models: ${models.length > 0 ? models.join(', ') : 'none'}`,
    'model_not_found',
  );
}

function newJob(submission: Submission, plan: Plan, replyTo: string | undefined, countedInTenantLimit: boolean): NewJob {
  return {
    id: plan.id,
    kind: submission.work.kind,
    priority: submission.priority,
    maxWaitMs: plan.maxWaitMs,
    requested: plan.resolution.requested,
    alias: plan.resolution.alias,
    chain: plan.chain,
    tenant: submission.tenant,
    countedInTenantLimit,
    metadata: submission.metadata,
    replyTo,
    batch: submission.batch,
  };
}

function hopZero(deps: ApiDeps, submission: Submission, plan: Plan): HopPayload {
  const target = plan.chain[0] as HopTarget;
  const weight = submission.tenant ? deps.apiKeys.weightOf(submission.tenant) : undefined;
  return {
    jobId: plan.id,
    hop: 0,
    target,
    chain: [...plan.chain],
    work: submission.work,
    priority: submission.priority,
    maxWaitMs: plan.maxWaitMs,
    ...(submission.tenant ? { tenant: submission.tenant } : {}),
    ...(weight !== undefined ? { weight } : {}),
    ...(submission.pinned && submission.retryUntil !== undefined ? { retryUntil: submission.retryUntil } : {}),
  };
}

function defaultMaxWait(deps: ApiDeps, priority: Priority): number | null {
  if (priority === 'interactive') return deps.config.maxWaitMs.interactive;
  if (priority === 'async') return deps.config.maxWaitMs.async;
  return null;
}

function needs(work: Work): Capability[] {
  if (work.kind !== 'chat') return [];
  const wanted: Capability[] = [];
  if (work.messages.some((m) => typeof m.content !== 'string' && m.content.some((p) => p.type === 'image'))) wanted.push('vision');
  if (work.params.responseFormat?.type === 'json_schema') wanted.push('structured_output');
  // Tools offered, or a conversation that already holds tool calls: only a model that speaks tools can take it.
  if ((work.params.tools?.length ?? 0) > 0 || work.messages.some((m) => m.role === 'tool' || m.toolCalls?.length)) wanted.push('tools');
  return wanted;
}

/**
 * Work that needs what only some providers have (PROVIDERS' `completions`,
 * `logprobs`) goes only to those: a legacy completion to a completion API,
 * a request for logprobs to a provider whose logprobs Mana carries.
 */
function withProviderFeatures(chain: Target[], work: Work, requested: string): Target[] {
  if (work.kind !== 'chat') return chain;
  const needs = [
    ...(work.params.completion ? [{ has: servesCompletions, what: 'a text-completion API', hint: 'Gemini and Groq have none; use /v1/chat/completions' }] : []),
    ...(work.params.logprobs ? [{ has: servesLogprobs, what: 'logprobs', hint: 'Gemini’s and Groq’s are not available' }] : []),
  ];
  let able = chain;
  for (const need of needs) {
    able = able.filter((t) => need.has(t.provider));
    if (able.length === 0)
      throw new ValidationError(`model "${requested}" has no target with ${need.what} (its chain: ${chain.map((t) => t.id).join(', ')}; ${need.hint})`, 'model');
  }
  return able;
}

/** A target with what aliases.yaml says of its model that routing uses on the way: its context, and long_context. */
function described(table: AliasTable, target: Target): HopTarget {
  const spec = table.models[target.id];
  return {
    ...target,
    ...(spec?.context !== undefined ? { context: spec.context } : {}),
    ...(spec?.capabilities.includes('long_context') ? { longContext: true as const } : {}),
  };
}

/**
 * Drops targets known (from aliases.yaml's models) to lack what the request
 * needs, e.g. a text-only model for a request with images. Targets the file
 * does not describe (bare models) are kept: only the provider can say.
 */
function withCapabilities(table: AliasTable, resolution: Resolution, wanted: readonly Capability[]): Target[] {
  if (wanted.length === 0) return [...resolution.chain];
  const able = resolution.chain.filter((t) => {
    const spec = table.models[t.id];
    return !spec || wanted.every((c) => spec.capabilities.includes(c));
  });
  if (able.length === 0) {
    throw new ValidationError(`model "${resolution.requested}" has no target with ${wanted.join(' and ')}, which this request needs`, 'model');
  }
  return able;
}
