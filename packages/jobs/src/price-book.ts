import { NO_PRICES, type PriceLoadResult, type PriceTable, loadPriceFile } from '@mana/aliases';

/**
 * The prices in force in this process (MANA_PRICES_PATH): read at start and
 * again on reload. A file that cannot be read or is invalid leaves the
 * prices as they were (none at start), and says why.
 */
export class PriceBook {
  private table: PriceTable = NO_PRICES;
  /** Why the last read failed, if it did. */
  lastError: string | undefined;

  constructor(readonly path: string | undefined) {}

  current(): PriceTable {
    return this.table;
  }

  reload(): PriceLoadResult {
    if (!this.path) return { ok: true, table: this.table };
    const loaded = loadPriceFile(this.path);
    if (loaded.ok) this.table = loaded.table;
    this.lastError = loaded.ok ? undefined : loaded.error;
    return loaded;
  }

  /** A fixed table (tests). */
  static of(table: PriceTable): PriceBook {
    const book = new PriceBook(undefined);
    book.table = table;
    return book;
  }
}
