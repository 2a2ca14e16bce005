/**
 * Hash increments gathered from many finished jobs, for one script to apply.
 * Jobs that finish together mostly share their fields (same model, tenant,
 * phase buckets), so a batch of them costs Redis about what one job did.
 */
export class StatsBatch {
  private readonly ints = new Map<string, Map<string, number>>();
  private readonly floats = new Map<string, Map<string, number>>();
  private readonly expiries = new Map<string, number>();

  /** HINCRBY `key` `field` `n` (an integer). */
  add(key: string, field: string, n: number): void {
    addTo(this.ints, key, field, n);
  }

  /** HINCRBYFLOAT `key` `field` `x`. */
  addFloat(key: string, field: string, x: number): void {
    addTo(this.floats, key, field, x);
  }

  /** EXPIRE `key` `seconds` once the batch is written (the latest one asked for). */
  expire(key: string, seconds: number): void {
    this.expiries.set(key, seconds);
  }

  /** The keys, and ARGV for APPLY_STATS: (op, key index, field, value) for every change. */
  toScript(): { keys: string[]; argv: Array<string | number> } {
    const keys: string[] = [];
    const index = new Map<string, number>();
    const keyIndex = (key: string) => {
      let i = index.get(key);
      if (i === undefined) index.set(key, (i = keys.push(key)));
      return i;
    };
    const argv: Array<string | number> = [];
    for (const [op, changes] of [
      ['i', this.ints],
      ['f', this.floats],
    ] as const) {
      for (const [key, fields] of changes) for (const [field, value] of fields) argv.push(op, keyIndex(key), field, op === 'f' ? String(value) : value);
    }
    for (const [key, seconds] of this.expiries) argv.push('e', keyIndex(key), '', seconds);
    return { keys, argv };
  }
}

function addTo(changes: Map<string, Map<string, number>>, key: string, field: string, n: number): void {
  let fields = changes.get(key);
  if (!fields) changes.set(key, (fields = new Map()));
  fields.set(field, (fields.get(field) ?? 0) + n);
}

/** Applies a StatsBatch (see toScript). Every key is in one slot: `{stats}`. */
export const APPLY_STATS = `
for i = 1, #ARGV, 4 do
  local op, key, field, value = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if op == 'i' then redis.call('HINCRBY', key, field, value)
  elseif op == 'f' then redis.call('HINCRBYFLOAT', key, field, value)
  else redis.call('EXPIRE', key, tonumber(value)) end
end
return 1
`;
