import { describe, expect, it } from 'vitest';
import { toGeminiSchema } from './gemini-schema.js';

describe('toGeminiSchema: JSON Schema → Gemini’s function-declaration dialect', () => {
  it.each([
    [
      'types upper-cased, JSON-Schema-only keywords dropped',
      { type: 'object', additionalProperties: false, $schema: 'x', properties: { a: { type: 'integer', exclusiveMinimum: 0 } } },
      { type: 'OBJECT', properties: { a: { type: 'INTEGER' } } },
    ],
    ['["string","null"] → nullable', { type: ['string', 'null'] }, { type: 'STRING', nullable: true }],
    ['const → a one-value enum', { type: 'string', const: 'x' }, { type: 'STRING', enum: ['x'] }],
    ['anyOf with null → the other, nullable', { anyOf: [{ type: 'number' }, { type: 'null' }] }, { type: 'NUMBER', nullable: true }],
    ['oneOf → anyOf', { oneOf: [{ type: 'string' }, { type: 'number' }] }, { anyOf: [{ type: 'STRING' }, { type: 'NUMBER' }] }],
    [
      '$ref inlined from $defs',
      { type: 'object', properties: { p: { $ref: '#/$defs/P' } }, $defs: { P: { type: 'string', description: 'd' } } },
      { type: 'OBJECT', properties: { p: { type: 'STRING', description: 'd' } } },
    ],
    [
      'required keeps only existing properties',
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'b'] },
      { type: 'OBJECT', properties: { a: { type: 'STRING' } }, required: ['a'] },
    ],
    [
      'unknown formats dropped, known kept',
      { type: 'object', properties: { t: { type: 'string', format: 'date-time' }, u: { type: 'string', format: 'uri' } } },
      { type: 'OBJECT', properties: { t: { type: 'STRING', format: 'date-time' }, u: { type: 'STRING' } } },
    ],
    ['arrays: items converted', { type: 'array', items: { type: 'boolean' }, minItems: 1 }, { type: 'ARRAY', items: { type: 'BOOLEAN' }, minItems: 1 }],
  ])('%s', (_name, input, expected) => {
    expect(toGeminiSchema(input)).toEqual(expected);
  });

  it('stops on a schema that refers to itself', () => {
    const schema = { $defs: { N: { type: 'object', properties: { next: { $ref: '#/$defs/N' } } } }, $ref: '#/$defs/N' };
    expect(() => toGeminiSchema(schema)).not.toThrow();
  });
});
