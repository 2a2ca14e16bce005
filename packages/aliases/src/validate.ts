import type { AliasIssue, PathSegment } from './issue.js';
import type { AliasFile, AliasSpec, ModelSpec } from './schema.js';
import { type Target, isCloudTarget, parseTarget } from './target.js';

const ALIAS_NAME = /^mana\/[a-z0-9][a-z0-9._-]*$/;

type Report = (path: PathSegment[], message: string, severity?: AliasIssue['severity']) => void;

/**
 * The rules that span fields. Each issue's path points at the smallest part
 * of the file that is wrong, so the message can be traced to a line.
 */
export function validateAliasFile(file: AliasFile): AliasIssue[] {
  const issues: AliasIssue[] = [];
  const report: Report = (path, message, severity = 'error') => issues.push({ severity, path, message });

  checkModels(file, report);
  for (const [name, spec] of Object.entries(file.aliases)) checkAlias(file, name, spec, report);
  checkDefault(file, 'default', file.default, 'chat', report);
  if (file.default_embedding !== undefined) {
    checkDefault(file, 'default_embedding', file.default_embedding, 'embedding', report);
  }
  checkModelMap(file, report);
  return issues;
}

function checkModels(file: AliasFile, report: Report): void {
  for (const [id, spec] of Object.entries(file.models)) {
    const parsed = parseTarget(id);
    if (!parsed.ok) report(['models', id], parsed.error);
    if (spec.kind === 'embedding' && spec.dimensions === undefined) {
      report(['models', id], `embedding model "${id}" needs dimensions (the length of its vectors)`);
    }
    if (spec.kind === 'chat' && spec.dimensions !== undefined) {
      report(['models', id, 'dimensions'], `chat model "${id}" cannot have dimensions`);
    }
  }
}

function checkAlias(file: AliasFile, name: string, spec: AliasSpec, report: Report): void {
  const at = ['aliases', name];
  if (!ALIAS_NAME.test(name)) {
    report(at, `alias "${name}" is outside the reserved namespace: names are mana/<class> (lowercase, e.g. mana/fast-text)`);
  }
  if (spec.chain.length === 0) {
    report([...at, 'chain'], `alias "${name}" has an empty chain: list at least one provider/model target`);
    return;
  }
  const targets: Array<{ target: Target; model: ModelSpec; index: number }> = [];
  spec.chain.forEach((id, index) => {
    const path = [...at, 'chain', index];
    const parsed = parseTarget(id);
    if (!parsed.ok) return report(path, `alias "${name}": ${parsed.error}`);
    if (spec.chain.indexOf(id) !== index) return report(path, `alias "${name}" lists "${id}" twice`);
    const model = file.models[id];
    if (!model) {
      return report(path, `alias "${name}": target "${id}" is not described under models (add its kind and capabilities)`);
    }
    const problem = servesProblem(spec, model);
    if (problem) return report(path, `alias "${name}": target "${id}" ${problem}`);
    targets.push({ target: parsed.target, model, index });
  });
  if (spec.kind === 'embedding') checkDimensions(name, targets, report);
  const last = targets.at(-1);
  if (targets.length === spec.chain.length && last && !isCloudTarget(last.target)) {
    report([...at, 'chain'], `alias "${name}" ends with a local target: while the GPUs are offline its work cannot finish`, 'warning');
  }
}

/** Why a target cannot serve an alias, or undefined when it can. */
function servesProblem(alias: AliasSpec, model: ModelSpec): string | undefined {
  if (model.kind !== alias.kind) return `is a ${model.kind} model but the alias is of kind ${alias.kind}`;
  const missing = alias.capabilities.filter((c) => !model.capabilities.includes(c));
  if (missing.length > 0) return `lacks ${missing.join(', ')}, which the alias requires`;
  return undefined;
}

function checkDimensions(name: string, targets: ReadonlyArray<{ target: Target; model: ModelSpec; index: number }>, report: Report): void {
  const first = targets[0];
  if (!first) return;
  for (const { target, model, index } of targets.slice(1)) {
    if (model.dimensions !== first.model.dimensions) {
      report(
        ['aliases', name, 'chain', index],
        `alias "${name}" mixes vector dimensions: "${target.id}" gives ${model.dimensions}, ` +
          `"${first.target.id}" gives ${first.model.dimensions}; vectors of different sizes live in different spaces`,
      );
    }
  }
}

function checkDefault(file: AliasFile, key: string, name: string, kind: AliasSpec['kind'], report: Report): void {
  const alias = file.aliases[name];
  if (!alias) {
    const known = Object.keys(file.aliases).join(', ');
    report([key], `${key} names "${name}", which is not an alias in this file (aliases: ${known})`);
  } else if (alias.kind !== kind) {
    report([key], `${key} names "${name}", a ${alias.kind} alias; it must be a ${kind} alias`);
  }
}

/** model_map sends a bare Ollama model name to the Gemini model that stands in for it. */
function checkModelMap(file: AliasFile, report: Report): void {
  for (const [ollamaModel, geminiModel] of Object.entries(file.model_map)) {
    const path = ['model_map', ollamaModel];
    if (ollamaModel.startsWith('ollama/') || ollamaModel.includes(' ')) {
      report(path, `model_map keys are bare Ollama model names (e.g. gemma3:4b), not "${ollamaModel}"`);
      continue;
    }
    const target = file.models[`google/${geminiModel}`];
    if (!target) {
      report(path, `model_map sends "${ollamaModel}" to "google/${geminiModel}", which is not described under models`);
      continue;
    }
    const local = file.models[`ollama/${ollamaModel}`];
    if (local && local.kind !== target.kind) {
      report(path, `model_map sends the ${local.kind} model "${ollamaModel}" to the ${target.kind} model "${geminiModel}"`);
    } else if (local && local.dimensions !== target.dimensions) {
      report(path, `model_map sends "${ollamaModel}" (${local.dimensions} dimensions) to "${geminiModel}" (${target.dimensions})`);
    }
  }
}
