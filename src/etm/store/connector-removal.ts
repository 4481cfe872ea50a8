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
import { unindexHost } from './asset-resolver';
import { Sql } from './sql';

export interface RemovalResult {
  readonly hosts: number;
  readonly findings: number;
  readonly assetsRemoved: number;
  /** Assets that other connectors' hosts keep. */
  readonly assetsKept: number;
}

export async function removeConnector(
  sql: Sql,
  name: string,
  transformMap?: string,
): Promise<RemovalResult> {
  const map = compileMap(loadTransformMap(transformMap));
  await sql.begin();
  try {
    const hosts = await sql.all<{
      seq: number;
      asset_key: string;
      identifiers: string;
      asset_seq: number;
    }>(
      `SELECT h.seq, h.asset_key, h.identifiers, a.seq AS asset_seq
         FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
        WHERE h.subscription = ?`,
      [name],
    );
    let findings = 0;
    const touched = new Set<string>();
    for (const h of hosts) {
      await unindexHost(sql, h.seq, h.identifiers);
      findings += await sql.run(`DELETE FROM findings WHERE asset_seq = ? AND host_seq = ?`, [
        h.asset_seq,
        h.seq,
      ]);
      if (!touched.has(h.asset_key))
        await sql.run(`UPDATE assets SET dirty = 1 WHERE asset_key = ?`, [h.asset_key]);
      touched.add(h.asset_key);
    }
    await sql.run(`DELETE FROM asset_hosts WHERE subscription = ?`, [name]);
    await sql.run(`DELETE FROM asset_merges WHERE subscription = ? OR matched_subscription = ?`, [
      name,
      name,
    ]);
    // An asset left with one host was identified by nothing but that host.
    await sql.run(
      `UPDATE assets SET identified_by = NULL
        WHERE dirty = 1 AND (SELECT COUNT(*) FROM asset_hosts h WHERE h.asset_key = assets.asset_key) = 1`,
    );
    await new AssetMaterialiser(sql, map, IdentificationRules.defaults()).run();
    let kept = 0;
    for (const key of touched) {
      if ((await sql.get(`SELECT 1 FROM assets WHERE asset_key = ?`, [key])) !== undefined) kept++;
    }
    await sql.run(`DELETE FROM runs WHERE connector = ?`, [name]);
    await sql.run(`DELETE FROM connectors WHERE name = ?`, [name]);
    await sql.commit();
    return {
      hosts: hosts.length,
      findings,
      assetsRemoved: touched.size - kept,
      assetsKept: kept,
    };
  } catch (err) {
    await sql.rollback();
    throw err;
  }
}
