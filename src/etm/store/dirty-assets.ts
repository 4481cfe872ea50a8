/**
 * Marks assets for the materialiser to rebuild at the next commit (store/asset-materialiser.ts),
 * once per asset per transaction: a host record marks its asset when it is resolved, when its
 * attributes are written and when its findings are. Marks are held and written together by
 * `flush` (one statement per few hundred assets, not one round trip each on PostgreSQL), which
 * the writer runs before anything reads the marks: before the materialiser, at each commit.
 */
import { marks, padded } from './batches';
import { Sql } from './sql';

/** Asset keys per UPDATE. */
const CHUNK = 512;

export class DirtyAssets {
  private readonly marked = new Set<string>();
  private pending: string[] = [];

  constructor(private readonly sql: Sql) {}

  async mark(assetKey: string): Promise<void> {
    if (this.marked.has(assetKey)) return;
    this.marked.add(assetKey);
    this.pending.push(assetKey);
  }

  /** An asset created in this transaction: dirty already (the column's default). */
  created(assetKey: string): void {
    this.marked.add(assetKey);
  }

  /** Writes the marks held. An asset merged away since it was marked is simply not found. */
  async flush(): Promise<void> {
    const keys = this.pending;
    this.pending = [];
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = padded(keys.slice(i, i + CHUNK));
      await this.sql.run(
        `UPDATE assets SET dirty = 1 WHERE asset_key IN (${marks(chunk.length)}) AND dirty = 0`,
        chunk,
      );
    }
  }

  /** At a commit (the materialiser cleared the marks) or a rollback (which undid them). */
  forget(): void {
    this.marked.clear();
    this.pending = [];
  }
}
