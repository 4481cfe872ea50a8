/**
 * Marks assets for the materialiser to rebuild at the next commit (store/asset-materialiser.ts),
 * once per asset per transaction: a host record marks its asset when it is resolved, when its
 * attributes are written and when its findings are, and each mark is a statement (a round trip
 * on PostgreSQL).
 */
import { Sql } from './sql';

export class DirtyAssets {
  private readonly marked = new Set<string>();

  constructor(private readonly sql: Sql) {}

  async mark(assetKey: string): Promise<void> {
    if (this.marked.has(assetKey)) return;
    this.marked.add(assetKey);
    await this.sql.run(`UPDATE assets SET dirty = 1 WHERE asset_key = ? AND dirty = 0`, [assetKey]);
  }

  /** At a commit (the materialiser cleared the marks) or a rollback (which undid them). */
  forget(): void {
    this.marked.clear();
  }
}
