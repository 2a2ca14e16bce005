/**
 * JSON Schema (what OpenAI-style tools carry) → Gemini's Schema, the OpenAPI
 * 3.0 subset its function declarations accept. The API refuses anything
 * else ("Unknown name "additionalProperties" … Cannot find field"), and
 * wants its own upper-case type names. Refs are inlined, `const` becomes a
 * one-value enum, `oneOf` becomes `anyOf`, a `["x", "null"]` type becomes
 * `nullable`; keywords Gemini lacks are dropped (they constrain, they do not
 * describe: the model still sees every property and its description).
 */
export function toGeminiSchema(schema: unknown, defs: Record<string, unknown> = definitionsOf(schema), depth = 0): Record<string, unknown> {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || depth > 32) return {};
  const s = resolveRef(schema as Record<string, unknown>, defs);
  const out: Record<string, unknown> = {};
  const { type, nullable } = geminiType(s.type);
  if (type) out.type = type;
  if (nullable || s.nullable === true) out.nullable = true;
  for (const key of COPIED) if (s[key] !== undefined) out[key] = s[key];
  if (s.const !== undefined) out.enum = [String(s.const)];
  if (Array.isArray(s.enum)) out.enum = s.enum.filter((v) => v !== null).map(String);
  if (typeof s.format === 'string' && FORMATS.has(s.format)) out.format = s.format;
  if (s.properties && typeof s.properties === 'object') {
    const properties = Object.fromEntries(Object.entries(s.properties as Record<string, unknown>).map(([name, p]) => [name, toGeminiSchema(p, defs, depth + 1)]));
    out.properties = properties;
    if (!out.type) out.type = 'OBJECT';
    if (Array.isArray(s.required)) out.required = s.required.filter((r) => typeof r === 'string' && r in properties);
  }
  if (s.items !== undefined && !Array.isArray(s.items)) out.items = toGeminiSchema(s.items, defs, depth + 1);
  const alternatives = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined)?.filter((a) => !isNullType(a));
  if (alternatives && alternatives.length > 0) {
    if (alternatives.length < ((s.anyOf ?? s.oneOf) as unknown[]).length) out.nullable = true;
    if (alternatives.length === 1) Object.assign(out, toGeminiSchema(alternatives[0], defs, depth + 1), out.nullable ? { nullable: true } : {});
    else out.anyOf = alternatives.map((a) => toGeminiSchema(a, defs, depth + 1));
  }
  if (Array.isArray(s.allOf) && s.allOf.length === 1) Object.assign(out, toGeminiSchema(s.allOf[0], defs, depth + 1));
  return out;
}

/** Fields Gemini's Schema has under the same name and meaning. */
const COPIED = [
  'title',
  'description',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minProperties',
  'maxProperties',
  'default',
  'example',
] as const;
/** The formats Gemini documents: others would be refused or mislead. */
const FORMATS = new Set(['enum', 'date-time', 'int32', 'int64', 'float', 'double']);
const TYPES: Record<string, string> = { string: 'STRING', number: 'NUMBER', integer: 'INTEGER', boolean: 'BOOLEAN', array: 'ARRAY', object: 'OBJECT', null: 'NULL' };

function geminiType(type: unknown): { type?: string; nullable: boolean } {
  if (typeof type === 'string') return TYPES[type] ? { type: TYPES[type], nullable: false } : { nullable: false };
  if (!Array.isArray(type)) return { nullable: false };
  const others = type.filter((t) => t !== 'null');
  const first = typeof others[0] === 'string' ? TYPES[others[0]] : undefined;
  return { ...(first ? { type: first } : {}), nullable: others.length < type.length };
}

function isNullType(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'null';
}

function definitionsOf(schema: unknown): Record<string, unknown> {
  if (schema === null || typeof schema !== 'object') return {};
  const s = schema as { $defs?: Record<string, unknown>; definitions?: Record<string, unknown> };
  return { ...s.definitions, ...s.$defs };
}

/** `{"$ref": "#/$defs/X"}` → X's schema (with the ref's own siblings on top). */
function resolveRef(schema: Record<string, unknown>, defs: Record<string, unknown>): Record<string, unknown> {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = ref.replace(/^#\/(\$defs|definitions)\//, '');
  const target = defs[name];
  if (!target || typeof target !== 'object') return { ...schema, $ref: undefined };
  const { $ref: _ref, ...rest } = schema;
  return { ...(target as Record<string, unknown>), ...rest };
}
