import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ManaError } from '@mana/errors';
import { NotFoundError, ValidationError } from '@mana/errors';
import { parseAliasFile } from './load.js';
import { type ResolveOptions, resolveModel } from './resolve.js';
import type { AliasTable } from './table.js';

const text = readFileSync(new URL('../../../test/fixtures/aliases/valid.yaml', import.meta.url), 'utf8');
const loaded = parseAliasFile(text, 'valid.yaml');
if (!loaded.ok) throw new Error('fixture must be valid');
const table: AliasTable = loaded.table;
const chat = { kind: 'chat' as const, googleDefaultModel: 'gemini-default' };
const embedding = { kind: 'embedding' as const, googleDefaultModel: 'gemini-default' };

const ids = (model: string | undefined, options: ResolveOptions = chat) => resolveModel(table, model, options).chain.map((t) => t.id);

describe('resolveModel', () => {
  it('resolves an alias to its chain', () => {
    const resolution = resolveModel(table, 'mana/fast-text', chat);
    expect(resolution.alias).toBe('mana/fast-text');
    expect(resolution.chain.map((t) => t.id)).toEqual(['ollama/gemma3:4b', 'google/gemini-2.0-flash']);
  });

  it('uses the default alias when no model is named', () => {
    expect(resolveModel(table, undefined, chat).alias).toBe('mana/fast-text');
    expect(resolveModel(table, '  ', chat).alias).toBe('mana/fast-text');
  });

  it('uses the default embedding alias for embeddings', () => {
    expect(resolveModel(table, undefined, embedding).alias).toBe('mana/embed');
  });

  it('maps a bare Ollama model to its Gemini stand-in from model_map', () => {
    expect(ids('gemma3:4b')).toEqual(['ollama/gemma3:4b', 'google/gemini-2.0-flash']);
  });

  it('ignores a :latest tag when looking up model_map', () => {
    const withLatest = resolveModel(table, 'nomic-embed-text:latest', embedding);
    expect(withLatest.chain.map((t) => t.id)).toEqual(['ollama/nomic-embed-text:latest', 'google/text-embedding-004']);
  });

  it('falls back to GOOGLE_DEFAULT_MODEL for an unmapped chat model', () => {
    expect(ids('mistral:7b')).toEqual(['ollama/mistral:7b', 'google/gemini-default']);
  });

  it('gives an unmapped embedding model no fallback (another model would mean another vector space)', () => {
    expect(ids('mxbai-embed-large', embedding)).toEqual(['ollama/mxbai-embed-large']);
  });

  it('treats ollama/<model> like the bare name', () => {
    expect(ids('ollama/gemma3:4b')).toEqual(['ollama/gemma3:4b', 'google/gemini-2.0-flash']);
  });

  it('keeps a namespaced Ollama model name whole', () => {
    expect(ids('library/gemma3:4b')[0]).toBe('ollama/library/gemma3:4b');
  });

  it.each(['google/gemini-2.5-pro', 'groq/llama-3.3-70b-versatile', 'openrouter/deepseek/deepseek-r1'])('never adds a fallback to a directly named cloud target %s', (model) => {
    expect(ids(model)).toEqual([model]);
  });

  it('rejects an unknown alias with 404, listing the known aliases', () => {
    const call = () => resolveModel(table, 'mana/fastest', chat);
    expect(call).toThrow(NotFoundError);
    expect(call).toThrow('model "mana/fastest" is not a known alias; known aliases: mana/fast-text, mana/embed');
    try {
      call();
    } catch (err) {
      expect((err as ManaError).httpStatus).toBe(404);
      expect((err as ManaError).code).toBe('model_not_found');
    }
  });

  it('rejects an embedding alias for chat, naming the field', () => {
    try {
      resolveModel(table, 'mana/embed', chat);
      throw new Error('expected a rejection');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('model');
      expect((err as ValidationError).message).toContain('embedding alias');
    }
  });

  it('asks for a model when there is no default embedding alias', () => {
    const noDefault = { ...table, defaultEmbeddingAlias: undefined };
    expect(() => resolveModel(noDefault, undefined, embedding)).toThrow('model is required');
  });
});
