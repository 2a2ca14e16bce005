import { describe, expect, it } from 'vitest';
import { hashKey, parseApiKeys } from './api-keys.js';

const KEY = 'k'.repeat(16);
const lines = /\r?\n/;

describe('parseApiKeys', () => {
  it('reads weight=N after a key and gives it to every key of that tenant', () => {
    const parsed = parseApiKeys(`team-a:${KEY}1 weight=3\nteam-a:${KEY}2\nteam-b:${KEY}3\n# a comment`, lines);
    expect(parsed).toEqual({
      ok: true,
      value: [
        { tenant: 'team-a', hash: hashKey(`${KEY}1`), weight: 3 },
        { tenant: 'team-a', hash: hashKey(`${KEY}2`), weight: 3 },
        { tenant: 'team-b', hash: hashKey(`${KEY}3`) },
      ],
    });
  });

  it.each([
    [`team-a:${KEY} weight=0`, 'entry 1 (tenant team-a): expected weight=N with N greater than 0, got "weight=0"'],
    [`team-a:${KEY} weight=x`, 'entry 1 (tenant team-a): expected weight=N with N greater than 0, got "weight=x"'],
    [`team-a:${KEY} rpm=3`, 'entry 1 (tenant team-a): unknown option "rpm=3" after the key (expected weight=N)'],
    [`team-a:${KEY}1 weight=2\nteam-a:${KEY}2 weight=3`, 'entry 2 (tenant team-a): weight=3, but an earlier line gave weight=2'],
  ])('refuses %j, naming the entry', (text, error) => {
    expect(parseApiKeys(text, lines)).toEqual({ ok: false, error });
  });
});
