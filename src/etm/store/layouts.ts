/**
 * Record layouts: a finding's per-detection attributes are stored as a JSON array of values (no
 * key names repeated on a million rows); its layout says which attribute each position holds.
 * A transform map yields one layout; a store synced with several maps holds several.
 */
import { Sql } from './sql';

/** The id of the layout for these attribute names, created if new (inside the caller's transaction). */
export async function layoutId(sql: Sql, attributes: ReadonlyArray<string>): Promise<number> {
  const json = JSON.stringify(attributes);
  const found = await sql.get<{ id: number }>(`SELECT id FROM layouts WHERE attributes = ?`, [
    json,
  ]);
  if (found !== undefined) return found.id;
  const created = (await sql.get<{ id: number }>(
    `INSERT INTO layouts (attributes) VALUES (?) RETURNING id`,
    [json],
  )) as { id: number };
  if (attributes.length === 0) return created.id;
  const values = attributes.map(() => '(?, ?, ?)').join(', ');
  await sql.run(
    `INSERT INTO layout_fields (layout, name, path) VALUES ${values}`,
    attributes.flatMap((name, i) => [created.id, name, `$[${i}]`]),
  );
  return created.id;
}

/** Layout ids to attribute positions, read once each. */
export class Layouts {
  private readonly layouts = new Map<number, ReadonlyMap<string, number>>();

  constructor(private readonly sql: Sql) {}

  async positions(id: number): Promise<ReadonlyMap<string, number>> {
    let positions = this.layouts.get(id);
    if (!positions) {
      const row = (await this.sql.get<{ attributes: string }>(
        `SELECT attributes FROM layouts WHERE id = ?`,
        [id],
      )) as { attributes: string };
      positions = new Map((JSON.parse(row.attributes) as string[]).map((name, i) => [name, i]));
      this.layouts.set(id, positions);
    }
    return positions;
  }
}
