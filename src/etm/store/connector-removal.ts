/**
 * `etm remove`: a connector's data leaves the store — its hosts, their findings and identifiers,
 * its merge records, runs and state — in one transaction. Assets it shared with other
 * connectors stay, rebuilt from the hosts they have left (attributes, current findings,
 * TruRisk); assets only it reported go. The knowledge base is Qualys-wide and stays.
 */
import { compileMap } from '../attribute-mapping';
import { IdentificationRules } from '../identification-rules';
import { loadTransformMap } from '../transform-map';
import { AssetMaterialiser } from './asset-materialiser';
import { hostUnindexer } from './asset-resolver';
import { Db } from './database';

export interface RemovalResult {
  readonly hosts: number;
  readonly findings: number;
  readonly assetsRemoved: number;
  /** Assets that other connectors' hosts keep. */
  readonly assetsKept: number;
}

export function removeConnector(db: Db, name: string, transformMap?: string): RemovalResult {
  const map = compileMap(loadTransformMap(transformMap));
  return db.transaction(() => {
    const hosts = db
      .prepare(
        `SELECT h.seq, h.asset_key, h.identifiers, a.seq AS asset_seq
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE h.subscription = ?`,
      )
      .all(name) as { seq: number; asset_key: string; identifiers: string; asset_seq: number }[];
    const unindex = hostUnindexer(db);
    const deleteFindings = db.prepare(`DELETE FROM findings WHERE asset_seq = ? AND host_seq = ?`);
    const markDirty = db.prepare(`UPDATE assets SET dirty = 1 WHERE asset_key = ?`);
    let findings = 0;
    const touched = new Set<string>();
    for (const h of hosts) {
      unindex(h.seq, h.identifiers);
      findings += deleteFindings.run(h.asset_seq, h.seq).changes;
      markDirty.run(h.asset_key);
      touched.add(h.asset_key);
    }
    db.prepare(`DELETE FROM asset_hosts WHERE subscription = ?`).run(name);
    db.prepare(`DELETE FROM asset_merges WHERE subscription = ? OR matched_subscription = ?`).run(
      name,
      name,
    );
    // An asset left with one host was identified by nothing but that host.
    db.prepare(
      `UPDATE assets SET identified_by = NULL
        WHERE dirty = 1 AND (SELECT COUNT(*) FROM asset_hosts h WHERE h.asset_key = assets.asset_key) = 1`,
    ).run();
    new AssetMaterialiser(db, map, IdentificationRules.defaults()).run();
    const kept = [...touched].filter(
      (key) => db.prepare(`SELECT 1 FROM assets WHERE asset_key = ?`).get(key) !== undefined,
    ).length;
    db.prepare(`DELETE FROM runs WHERE connector = ?`).run(name);
    db.prepare(`DELETE FROM connectors WHERE name = ?`).run(name);
    return {
      hosts: hosts.length,
      findings,
      assetsRemoved: touched.size - kept,
      assetsKept: kept,
    };
  })();
}
