/**
 * Record layouts: a finding's per-detection attributes are stored as a JSON array of values (no
 * key names repeated on a million rows); its layout says which attribute each position holds.
 * A transform map yields one layout; a store synced with several maps holds several.
 */
import { Db } from './database';

/** The id of the layout for these attribute names, created if new (inside the caller's transaction). */
export function layoutId(db: Db, attributes: ReadonlyArray<string>): number {
  const json = JSON.stringify(attributes);
  const found = db.prepare(`SELECT id FROM layouts WHERE attributes = ?`).pluck().get(json) as
    number | undefined;
  if (found !== undefined) return found;
  const id = Number(
    db.prepare(`INSERT INTO layouts (attributes) VALUES (?)`).run(json).lastInsertRowid,
  );
  const field = db.prepare(`INSERT INTO layout_fields (layout, name, path) VALUES (?, ?, ?)`);
  attributes.forEach((name, i) => field.run(id, name, `$[${i}]`));
  return id;
}

/** Layout ids to attribute positions, read once each. */
export class Layouts {
  private readonly layouts = new Map<number, ReadonlyMap<string, number>>();

  constructor(private readonly db: Db) {}

  positions(id: number): ReadonlyMap<string, number> {
    let positions = this.layouts.get(id);
    if (!positions) {
      const json = this.db
        .prepare(`SELECT attributes FROM layouts WHERE id = ?`)
        .pluck()
        .get(id) as string;
      positions = new Map((JSON.parse(json) as string[]).map((name, i) => [name, i]));
      this.layouts.set(id, positions);
    }
    return positions;
  }
}
