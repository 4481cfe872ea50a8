/**
 * Stores written by earlier versions (store/schema.ts MIGRATIONS): a store of each older schema
 * version, opened by this etm, has exactly the tables, columns, indexes, views and triggers of a
 * new store, keeps its rows, and then syncs exactly as a new store does. The older schemas are
 * the SCHEMA text each version shipped (test_files/etm/schemas/vN.sql, taken from git). Raising
 * SCHEMA_VERSION needs the version before it saved there too: this test reads every one.
 */
import Database from 'better-sqlite3';
import fs from 'fs';
import path from 'path';
import pg from 'pg';

import { EtmStore } from '../../src/etm/store/database';
import { POSTGRES } from '../../src/etm/store/dialect';
import { SCHEMA_VERSION } from '../../src/etm/store/schema';
import { Engine } from '../../src/etm/store/sql';
import {
  assets,
  consume,
  FIXTURES,
  findings,
  fixtureLines,
  onEachEngine,
  tempLocation,
} from './helpers';

const OLDER_VERSIONS = Array.from({ length: SCHEMA_VERSION - 1 }, (_, i) => i + 1);

/** Rows every older version can hold: one asset with one host, one finding, a connector, a run. */
const OLD_ROWS = `
  INSERT INTO assets (seq, asset_key, dirty, record) VALUES (1, 'asset-1', 0, '{}');
  INSERT INTO asset_hosts (seq, subscription, host_id, asset_key, identifiers)
    VALUES (1, 'sub', '101', 'asset-1', '{}');
  INSERT INTO vulnerabilities (vulnerability_key, record) VALUES ('38170', '{}');
  INSERT INTO layouts (id, attributes) VALUES (1, '[]');
  INSERT INTO findings (id, asset_seq, detection_key, host_seq, vulnerability_key, status, layout, record)
    VALUES (1, 1, '38170', 1, '38170', 'Active', 1, '[]');
  INSERT INTO connectors (name, status, status_at, registered_at)
    VALUES ('sub', 'Processed', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z');
  INSERT INTO runs (id, connector, started_at, status) VALUES (1, 'sub', '2026-11-27T00:00:00Z', 'Processed');`;

/** Writes a store of schema `version` at `db` (a tempLocation), as that version left it. */
async function writeOldStore(
  engine: Engine,
  db: string,
  version: number,
  rows: string,
): Promise<void> {
  const schema = fs.readFileSync(path.join(FIXTURES, 'schemas', `v${version}.sql`), 'utf8');
  const meta = `INSERT INTO meta (key, value) VALUES ('schema_version', '${version}');`;
  if (engine === 'sqlite') {
    const sqlite = new Database(db);
    sqlite.exec(schema + meta + rows);
    sqlite.close();
    return;
  }
  const url = new URL(db);
  const name = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${name}; SET search_path TO ${name};`);
    await client.query(POSTGRES.ddl(schema) + meta + rows);
  } finally {
    await client.end();
  }
}

/** What a store is made of, in an order that does not depend on how it was built. */
async function layoutOf(store: EtmStore): Promise<unknown[]> {
  if (store.engine === 'sqlite') {
    const objects = await store.sql.all<{ type: string; name: string; sql: string | null }>(
      `SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`,
    );
    const described: unknown[] = [];
    for (const { type, name, sql } of objects) {
      if (type !== 'table') {
        described.push({ type, name, sql: sql?.replace(/\s+/g, ' ') });
        continue;
      }
      const columns = await store.sql.all<Record<string, unknown>>(
        `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('${name}') ORDER BY name`,
      );
      described.push({ type, name, columns });
    }
    return described;
  }
  // Names in one schema are the same in another once its name is taken out.
  const schema = (await store.sql.get<{ s: string }>('SELECT current_schema() AS s'))!.s;
  const unschema = (text: unknown) => String(text).split(`${schema}.`).join('');
  const columns = await store.sql.all<Record<string, unknown>>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, collation_name
       FROM information_schema.columns WHERE table_schema = current_schema()
      ORDER BY table_name, column_name`,
  );
  const indexes = await store.sql.all<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`,
  );
  const views = await store.sql.all<{ table_name: string; view_definition: string }>(
    `SELECT table_name, view_definition FROM information_schema.views
      WHERE table_schema = current_schema() ORDER BY table_name`,
  );
  const triggers = await store.sql.all<Record<string, unknown>>(
    `SELECT trigger_name, event_manipulation, event_object_table, action_statement
       FROM information_schema.triggers WHERE trigger_schema = current_schema()
      ORDER BY trigger_name, event_manipulation`,
  );
  return [
    columns.map((c) => ({ ...c, column_default: c.column_default && unschema(c.column_default) })),
    indexes.map((i) => ({ ...i, indexdef: unschema(i.indexdef) })),
    views,
    triggers,
  ];
}

onEachEngine('a store of an older schema version', (engine) => {
  let fresh: { store: EtmStore; remove: () => Promise<void> };
  beforeAll(async () => {
    const { db, remove } = tempLocation(engine);
    fresh = { store: await EtmStore.open(db), remove };
  });
  afterAll(async () => {
    await fresh.store.close();
    await fresh.remove();
  });

  test.each(OLDER_VERSIONS)(
    'version %i is migrated to the layout of a new store and keeps its rows',
    async (version) => {
      const { db, remove } = tempLocation(engine);
      try {
        await writeOldStore(engine, db, version, OLD_ROWS);
        const store = await EtmStore.open(db);
        try {
          expect(await store.getMeta('schema_version')).toBe(String(SCHEMA_VERSION));
          expect(await layoutOf(store)).toEqual(await layoutOf(fresh.store));
          const kept = await store.sql.get<Record<string, unknown>>(
            `SELECT f.status, f.current, h.host_id, h.purged_at, a.asset_key
               FROM findings f JOIN asset_hosts h ON h.seq = f.host_seq JOIN assets a ON a.seq = f.asset_seq`,
          );
          expect(kept).toEqual({
            status: 'Active',
            current: 1,
            host_id: '101',
            purged_at: null,
            asset_key: 'asset-1',
          });
          // Migration 3 starts each finding's history with the status it had.
          expect(
            await store.sql.all(
              'SELECT finding, at, run, from_status, to_status FROM finding_history',
            ),
          ).toEqual(
            version < 4
              ? [{ finding: 1, at: 0, run: null, from_status: null, to_status: 'Active' }]
              : [],
          );
          expect(
            await store.sql.all('SELECT name, status, network, interrupted_at FROM connectors'),
          ).toEqual([{ name: 'sub', status: 'Processed', network: null, interrupted_at: null }]);
        } finally {
          await store.close();
        }
      } finally {
        await remove();
      }
    },
  );

  test.each(OLDER_VERSIONS)(
    'version %i opened to read (etm query, etm serve) says how to upgrade it',
    async (version) => {
      const { db, remove } = tempLocation(engine);
      try {
        await writeOldStore(engine, db, version, '');
        await expect(EtmStore.open(db, { readonly: true })).rejects.toThrow(
          `has schema version ${version}; this etm reads version ${SCHEMA_VERSION}: a command that writes the store (etm sync or etm run, or the destination) upgrades it in place`,
        );
      } finally {
        await remove();
      }
    },
  );

  test.each(OLDER_VERSIONS)(
    'an empty store of version %i then syncs as a new store does',
    async (version) => {
      const migrated = tempLocation(engine);
      const created = tempLocation(engine);
      try {
        await writeOldStore(engine, migrated.db, version, '');
        const stores = [await EtmStore.open(migrated.db), await EtmStore.open(created.db)];
        try {
          const results = [];
          for (const store of stores) {
            await consume(store, fixtureLines('subscription-a.jsonl'));
            await consume(store, fixtureLines('subscription-b.jsonl'));
            results.push({ assets: await assets(store), findings: await findings(store) });
          }
          expect(results[0].findings.length).toBeGreaterThan(0);
          expect(results[0]).toEqual(results[1]);
        } finally {
          for (const store of stores) await store.close();
        }
      } finally {
        await migrated.remove();
        await created.remove();
      }
    },
  );
});
