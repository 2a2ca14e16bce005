import { z } from 'zod';

/**
 * Booleans from the environment. `z.coerce.boolean()` would turn "false" into
 * true, so the accepted spellings are listed explicitly.
 */
export const BoolEnv = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' }))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A whole number of at least `min`, given as a decimal string. */
export function intEnv(min: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { error: `expected a whole number ≥ ${min}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { error: `expected a whole number ≥ ${min}` }),
    );
}

/** An absolute http(s) URL; a trailing slash is dropped so paths join cleanly. */
export const HttpUrlEnv = z
  .string()
  .trim()
  .refine((v) => isHttpUrl(v), { error: 'expected an http:// or https:// URL' })
  .transform((v) => v.replace(/\/+$/, ''));

export const RedisUrlEnv = z
  .string()
  .trim()
  .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), {
    error: 'expected a redis:// or rediss:// URL',
  });

export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}
