/**
 * `etm asset [--db F] [--findings N] <name|ip|key>`: the console's asset page as text — what the
 * asset is, the Qualys hosts merged into it (subscription, identification rule and value), its
 * TruRisk worked out from its open findings, and its riskiest findings.
 */
import { VError } from 'verror';

import { Io, writeLine } from '../io';
import { FINDING } from '../models';
import { AssetView, defaultColumns, listedValue, ReadModel } from '../query/read-model';
import { EtmStore } from '../store/database';
import { formatCount } from '../sync/summary';
import { cell, writeTable } from '../table';

export interface AssetOptions {
  readonly db: string;
  readonly findings: string;
}

export async function asset(term: string, options: AssetOptions, io: Io): Promise<number> {
  const shown = Number(options.findings);
  if (!Number.isInteger(shown) || shown < 0) {
    throw new VError('--findings must be a whole number, not %j', options.findings);
  }
  const store = await EtmStore.open(options.db, { readonly: true });
  try {
    const reader = new ReadModel(store);
    const keys = await reader.findAssets(term);
    if (keys.length === 0) throw new VError('no asset has the key, name, FQDN or IP %j', term);
    if (keys.length > 1) {
      const list: string[] = [];
      for (const k of keys) {
        const r = (await reader.asset(k))?.record ?? {};
        list.push(
          `  ${k}  ${cell(r.assetName)}  ${cell(r.ipAddress)}  TruRisk ${cell(r.truRiskScore)}`,
        );
      }
      throw new VError(
        '%d assets match %j; name one by its key:\n%s',
        keys.length,
        term,
        list.join('\n'),
      );
    }
    const view = (await reader.asset(keys[0])) as AssetView;
    const say = (line = ''): Promise<void> => writeLine(io.stdout, line);
    await describe(view, say);
    await hosts(view, io, say);
    await explain(view, say);
    await findings(reader, view, shown, options.db, io, say);
    return 0;
  } finally {
    await store.close();
  }
}

type Say = (line?: string) => Promise<void>;

async function describe(view: AssetView, say: Say): Promise<void> {
  const r = view.record;
  await say(`Asset ${cell(r.assetName)} (${cell(r.assetKey)})`);
  await say(`  IP address     ${cell(r.ipAddress)}`);
  await say(`  FQDN           ${cell(r.fqdn)}`);
  await say(`  OS             ${cell(r.operatingSystemName)}`);
  await say(`  TruRisk        ${cell(r.truRiskScore)} ${cell(r.truRiskBand)}`);
  await say(`  subscriptions  ${cell(r.subscriptions)}`);
  await say(`  last scanned   ${cell(r.lastScannedOn)}`);
  if (r.purgedAt) await say(`  purged         ${cell(r.purgedAt)} (no live Qualys host left)`);
  await say(`  findings       ${formatCount(view.findings)} (${view.truRisk.openFindings} open)`);
  await say();
}

async function hosts(view: AssetView, io: Io, say: Say): Promise<void> {
  const rule = view.identifiedBy;
  await say(
    `Qualys hosts merged into it (${view.hosts.length})` +
      (view.hosts.length > 1 && rule ? `, recognised as one asset by the ${rule} rule` : ''),
  );
  await writeTable(
    io.stdout,
    ['SUBSCRIPTION', 'HOST ID', 'NAME', 'IP', 'CRITICALITY', 'LAST SCANNED', 'PURGED', 'MERGED ON'],
    view.hosts.map((h) => [
      h.subscription,
      h.hostId,
      cell(h.assetName),
      cell(h.ipAddress),
      cell(h.assetCriticalityScore),
      cell(h.lastScanned),
      cell(h.purgedAt),
      rule && h.identifiers[rule] !== undefined ? `${rule} = ${h.identifiers[rule]}` : '-',
    ]),
    100,
  );
  await say();
}

async function explain(view: AssetView, say: Say): Promise<void> {
  const t = view.truRisk;
  await say('TruRisk explained (Qualys TruRisk 1.0 over the open findings)');
  const from =
    t.criticalityFrom === 'host'
      ? `the highest ASSET_CRITICALITY_SCORE of its hosts (${t.criticalityHosts
          .map((h) => `${h.subscription} host ${h.hostId}`)
          .join(', ')})`
      : 'the default: no host reported an ASSET_CRITICALITY_SCORE';
  await say(`  criticality (ACS) ${t.criticality}: ${from}`);
  await say(
    '  band      QDS     weight  open findings  average QDS  weight × average × count^' +
      t.countExponent,
  );
  for (const b of t.bands) {
    await say(
      `  ${b.name.padEnd(8)}  ≥ ${String(b.minScore).padEnd(4)}  ${b.weight.toFixed(1).padEnd(6)}  ` +
        `${String(b.count).padEnd(13)}  ${(b.average === null ? '-' : b.average.toFixed(2)).padEnd(11)}  ${b.term.toFixed(2)}`,
    );
  }
  await say(`  TruRisk = ${t.formula} (${t.band})`);
  await say(`  vendor's TruRisk (Qualys TRURISK_SCORE): ${cell(t.vendorScore)}`);
  await say();
}

async function findings(
  reader: ReadModel,
  view: AssetView,
  shown: number,
  db: string,
  io: Io,
  say: Say,
): Promise<void> {
  const key = view.record.assetKey as string;
  const request = {
    query: `finding.assetKey: \`${key}\``,
    sort: 'detectionScore:desc',
    limit: shown,
  };
  const page = await reader.page(request);
  await say(`Findings, highest QDS first (${page.rows.length} of ${formatCount(page.total)})`);
  const columns = defaultColumns(FINDING).filter(
    (c) => !['assetKey', 'assetName', 'ipAddress'].includes(c),
  );
  await writeTable(
    io.stdout,
    columns,
    page.rows.map((r) => columns.map((c) => cell(listedValue(r, c)))),
    100,
  );
  await say(`All of them: bin/etm query --db ${db} 'finding.assetKey: ${key}'`);
}
