/**
 * The ETM store's tables (SQLite, one file). Identity resolution lives here, not in memory:
 * every Qualys host that merged into an asset is a row of asset_hosts and its identifiers are
 * indexed rows of host_identifiers, so matching works across records, syncs and subscriptions
 * at any scale. Findings are stored as each host reported them (one row per host + detection
 * key, the latest LAST_FOUND kept); `current` marks the one report per asset + detection key that
 * is the ETM finding. Findings name their asset and host by sequence numbers, not keys: a new
 * asset's findings then append to the table and its index instead of landing at random places
 * (asset keys are hashes), which is most of the cost of storing them. Per-QID attributes are
 * stored once in vulnerabilities. A host purged from Qualys keeps its row, marked `purged_at`, so
 * that its closed findings still name their host (store/host-purge.ts).
 *
 * The text is SQLite's; PostgreSQL gets the same tables through its dialect (store/dialect.ts).
 * The views at the end are the store's public face: real columns for psql, Grafana or Metabase,
 * which need not know the layout above.
 */
import { Dialect } from './dialect';
import { Engine } from './sql';

export const SCHEMA_VERSION = 6;

/**
 * What turns a store of version N into version N + 1, run in order by EtmStore.open. Only
 * columns, rows and indexes added or indexes dropped, and a new column filled, so a migration is
 * a few statements.
 */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `ALTER TABLE asset_hosts ADD COLUMN purged_at TEXT;`,
  // asset_merges itself comes with SCHEMA (CREATE TABLE IF NOT EXISTS).
  2: `ALTER TABLE connectors ADD COLUMN network TEXT;
      ALTER TABLE connectors ADD COLUMN interrupted_at TEXT;`,
  // finding_history comes with SCHEMA; its history starts with each finding's status now.
  3: `INSERT INTO finding_history (finding, at, run, from_status, to_status)
      SELECT id, 0, NULL, NULL, status FROM findings ORDER BY id;`,
  // The findings_current_by_* indexes of SCHEMA replace these.
  4: `DROP INDEX IF EXISTS findings_current_by_severity;
      DROP INDEX IF EXISTS findings_current_top_score;`,
  // findings_current_by_qid comes with SCHEMA. Each host's count of current findings, as the
  // asset materialiser keeps it from now on: one pass over the findings.
  5: `ALTER TABLE asset_hosts ADD COLUMN current_findings INTEGER;
      UPDATE asset_hosts SET current_findings = 0;
      UPDATE asset_hosts SET current_findings = c.n
        FROM (SELECT host_seq, COUNT(*) AS n FROM findings WHERE current = 1 GROUP BY host_seq) AS c
       WHERE asset_hosts.seq = c.host_seq;`,
};

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS assets (
  seq            INTEGER PRIMARY KEY,        -- creation order: the oldest asset survives a merge
  asset_key      TEXT NOT NULL UNIQUE,
  identified_by  TEXT,                       -- rule that recognised different hosts as this asset
  dirty          INTEGER NOT NULL DEFAULT 1, -- record and TruRisk to recompute at the next commit
  tru_risk_score INTEGER,
  tru_risk_band  TEXT,
  record         TEXT                        -- the materialised etm_Asset (JSON)
);
CREATE INDEX IF NOT EXISTS assets_dirty ON assets (asset_key) WHERE dirty = 1;

CREATE TABLE IF NOT EXISTS asset_hosts (
  seq          INTEGER PRIMARY KEY,          -- join order: breaks ties between hosts of an asset
  subscription TEXT NOT NULL,
  host_id      TEXT NOT NULL,
  asset_key    TEXT NOT NULL,
  identifiers  TEXT NOT NULL,                -- {rule: comparable value} as last reported (JSON)
  attributes   TEXT NOT NULL DEFAULT '{}',   -- mapped asset attributes as last reported (JSON)
  last_scanned TEXT,
  purged_at    TEXT,                         -- when Qualys stopped listing it; NULL while live
  current_findings INTEGER,                  -- its current findings (store/asset-materialiser.ts)
  UNIQUE (subscription, host_id)
);
CREATE INDEX IF NOT EXISTS asset_hosts_by_asset ON asset_hosts (asset_key);

-- One b-tree, no secondary index: a host's old values, to delete, are in asset_hosts.identifiers.
CREATE TABLE IF NOT EXISTS host_identifiers (
  rule     TEXT NOT NULL,
  value    TEXT NOT NULL,
  host_seq INTEGER NOT NULL,                 -- asset_hosts.seq
  PRIMARY KEY (rule, value, host_seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS vulnerabilities (
  vulnerability_key TEXT PRIMARY KEY,        -- the QID
  version           TEXT,                    -- LAST_SERVICE_MODIFICATION_DATETIME: newest wins
  record            TEXT NOT NULL            -- per-QID finding attributes (JSON)
);

CREATE TABLE IF NOT EXISTS findings (
  id                INTEGER PRIMARY KEY,
  asset_seq         INTEGER NOT NULL,          -- assets.seq
  detection_key     TEXT NOT NULL,
  host_seq          INTEGER NOT NULL,          -- asset_hosts.seq of the reporting host
  vulnerability_key TEXT NOT NULL,
  current           INTEGER NOT NULL DEFAULT 1, -- the latest report of this asset + detection key
  status            TEXT,
  sub_type          TEXT,
  ignored           INTEGER,
  score             REAL,
  severity          INTEGER,
  last_found        TEXT,
  layout            INTEGER NOT NULL,           -- layouts.id: which attribute each value is
  record            TEXT NOT NULL               -- per-detection attribute values (JSON array)
);
CREATE UNIQUE INDEX IF NOT EXISTS findings_identity ON findings (asset_seq, detection_key, host_seq);
-- The console's findings sorted by QDS (the default list), severity, status or a value of the
-- QID (its ID, name, CVSS...): a page is a walk of one of these, value by value (ties sorted
-- within one asset), not a sort of every current finding. Only current rows, no detection key
-- (long). An index insert at a random place costs a sync more than the rest of a finding's row;
-- the first three take a new asset's findings at a few places each (one per value, ~100 for
-- QDS), where they append, and cost bench/etm.js nothing it could measure. The QID index takes
-- them at ~50 of 4,000 places: about 11% of that sync's time (docs/store-engines.md), for sorts
-- that otherwise sort 1M findings (seconds). Sorts by asset or subscription read the hosts'
-- current_findings; the severity index, with the host, counts them should a host lack its count.
CREATE INDEX IF NOT EXISTS findings_current_by_score ON findings (score DESC, asset_seq) WHERE current = 1;
CREATE INDEX IF NOT EXISTS findings_current_by_severity_and_host ON findings (severity DESC, asset_seq, host_seq) WHERE current = 1;
CREATE INDEX IF NOT EXISTS findings_current_by_status ON findings (status, asset_seq) WHERE current = 1;
CREATE INDEX IF NOT EXISTS findings_current_by_qid ON findings (vulnerability_key, asset_seq) WHERE current = 1;

-- Finding records are arrays of values; a layout names them. A transform map gives one layout.
CREATE TABLE IF NOT EXISTS layouts (
  id         INTEGER PRIMARY KEY,
  attributes TEXT NOT NULL UNIQUE              -- JSON array of attribute names
);
CREATE TABLE IF NOT EXISTS layout_fields (     -- where an attribute sits, for queries
  layout INTEGER NOT NULL,
  name   TEXT NOT NULL,
  path   TEXT NOT NULL,                        -- '$[3]'
  PRIMARY KEY (layout, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS connectors (
  name          TEXT PRIMARY KEY,              -- the subscription label
  base_url      TEXT,
  username      TEXT,
  config_path   TEXT,                          -- the file the user gave; never its content
  profile       TEXT,
  status        TEXT NOT NULL,                 -- Registered|Scheduled|Processing|Processed|Failed|Interrupted
  status_at     TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  scheduled_at  TEXT,
  next_run_at   TEXT,
  processing_at TEXT,
  processed_at  TEXT,
  failed_at     TEXT,
  interrupted_at TEXT,                         -- stopped (Ctrl-C); the next sync resumes
  last_error    TEXT,
  state         TEXT,                          -- the source's Airbyte state, committed with its data
  state_at      TEXT,
  pid           INTEGER,                       -- the etm process, while Processing
  network       TEXT                           -- declared network: private IPs match within it
);

-- Why hosts are one asset: each time a host joined an asset (or linked two), the rule and the
-- value that decided it and the host it matched (etm merges).
CREATE TABLE IF NOT EXISTS asset_merges (
  id                   INTEGER PRIMARY KEY,
  asset_key            TEXT NOT NULL,         -- the asset they are now part of
  kind                 TEXT NOT NULL,         -- joined | linked (two assets became one)
  subscription         TEXT NOT NULL,         -- the host that joined
  host_id              TEXT NOT NULL,
  matched_subscription TEXT NOT NULL,         -- the asset's host it matched
  matched_host_id      TEXT NOT NULL,
  rule                 TEXT NOT NULL,
  value                TEXT NOT NULL,
  merged_at            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS asset_merges_by_asset ON asset_merges (asset_key);

CREATE TABLE IF NOT EXISTS runs (
  id          INTEGER PRIMARY KEY,
  connector   TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  status      TEXT NOT NULL,                   -- Processing|Processed|Failed|Interrupted
  summary     TEXT,                            -- counts and changes (JSON)
  error       TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_connector ON runs (connector, id);

-- Each status a finding (a host's report) took, written by the triggers of findingTriggers: the
-- first when it was stored, then each change, whoever made it (the writer, a host purge). One
-- b-tree in finding order (new findings append to it), a finding's entries in time order.
CREATE TABLE IF NOT EXISTS finding_history (
  finding     INTEGER NOT NULL,               -- findings.id
  at          BIGINT NOT NULL,                -- when, in ms since 1970 (UTC); 0: before v4
  run         INTEGER,                        -- the reporting host's subscription's run, if one was open
  from_status TEXT,                           -- NULL: first stored
  to_status   TEXT,
  PRIMARY KEY (finding, at)
) WITHOUT ROWID;
`;

/**
 * The triggers that keep finding_history, and on PostgreSQL the change counter readers cache by
 * (SQLite's PRAGMA data_version does that job there): moved by whatever inserts, deletes or
 * changes the status of a finding; the read model reads it beside the runs finished and the
 * newest asset, which cover what else a sync changes. A finding's run is the one its host's
 * subscription has open (runs.status Processing, started by etm sync and the Airbyte destination),
 * found from columns the findings row already has, so no writer needs to say which run it is.
 * Only real changes are recorded: the writer re-reports every detection with its status.
 * Recreated at each open, as the views are.
 */
export function findingTriggers(engine: Engine): string {
  const run = (hostSeq: string): string =>
    `(SELECT max(r.id) FROM runs r WHERE r.status = 'Processing' AND r.connector =
        (SELECT h.subscription FROM asset_hosts h WHERE h.seq = ${hostSeq}))`;
  // A change's moment: never before the finding's last entry, so that (finding, at) stays unique
  // and in order when two changes fall in one millisecond.
  const after = (now: string, finding: string): string =>
    `max(${now}, coalesce((SELECT max(at) FROM finding_history WHERE finding = ${finding}), 0) + 1)`;
  if (engine === 'sqlite') {
    const now = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`;
    return `
CREATE TRIGGER IF NOT EXISTS findings_history_insert AFTER INSERT ON findings
BEGIN
  INSERT INTO finding_history (finding, at, run, from_status, to_status)
  VALUES (NEW.id, ${now}, ${run('NEW.host_seq')}, NULL, NEW.status);
END;
CREATE TRIGGER IF NOT EXISTS findings_history_update AFTER UPDATE OF status ON findings
  WHEN OLD.status IS NOT NEW.status
BEGIN
  INSERT INTO finding_history (finding, at, run, from_status, to_status)
  VALUES (NEW.id, ${after(now, 'NEW.id')}, ${run('NEW.host_seq')}, OLD.status, NEW.status);
END;
CREATE TRIGGER IF NOT EXISTS findings_history_delete AFTER DELETE ON findings
BEGIN
  DELETE FROM finding_history WHERE finding = OLD.id;
END;`;
  }
  const now = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;
  // Each also moves the change counter, once per transaction (readers cache until it moves).
  const changed = `UPDATE meta SET value = txid_current()::text
     WHERE key = 'data_version' AND value <> txid_current()::text`;
  const fn = (name: string, body: string): string => `
CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  ${body};
  ${changed};
  RETURN NULL;
END $$;`;
  // Inserts and deletes per statement, over its rows (the writer inserts hundreds at once, each
  // host's run looked up once); status changes per row, the WHEN tested without a call, since the
  // writer re-reports every detection and the materialiser updates findings one by one.
  return `
${fn(
  'etm_findings_inserted',
  `INSERT INTO finding_history (finding, at, run, from_status, to_status)
     SELECT n.id, ${now}, hr.run, NULL, n.status
       FROM etm_new n JOIN (SELECT s.host_seq, ${run('s.host_seq')} AS run
                              FROM (SELECT DISTINCT host_seq FROM etm_new) s) hr
         ON hr.host_seq = n.host_seq`,
)}
${fn(
  'etm_finding_status_changed',
  `INSERT INTO finding_history (finding, at, run, from_status, to_status)
     VALUES (NEW.id, ${after(now, 'NEW.id').replace('max(', 'greatest(')}, ${run('NEW.host_seq')}, OLD.status, NEW.status)`,
)}
${fn('etm_findings_deleted', `DELETE FROM finding_history WHERE finding IN (SELECT id FROM etm_old)`)}
INSERT INTO meta (key, value) VALUES ('data_version', '0') ON CONFLICT (key) DO NOTHING;
CREATE OR REPLACE TRIGGER findings_history_insert AFTER INSERT ON findings
  REFERENCING NEW TABLE AS etm_new FOR EACH STATEMENT EXECUTE FUNCTION etm_findings_inserted();
CREATE OR REPLACE TRIGGER findings_history_update AFTER UPDATE OF status ON findings
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION etm_finding_status_changed();
CREATE OR REPLACE TRIGGER findings_history_delete AFTER DELETE ON findings
  REFERENCING OLD TABLE AS etm_old FOR EACH STATEMENT EXECUTE FUNCTION etm_findings_deleted();`;
}

/**
 * etm_assets, etm_findings (current findings only: one row per ETM finding), etm_connectors and
 * etm_runs, recreated at each open so that they follow the tables. A finding attribute is read
 * from its detection values (by the row's layout) before its QID's knowledge, as etm query does.
 */
export function views(d: Dialect): string {
  const asset = (field: string, type: 'text' | 'number' | 'json' = 'text'): string =>
    d.field('a.record', field, type);
  const finding = (field: string, type: 'text' | 'number' | 'boolean' = 'text'): string =>
    `coalesce(${d.at('f.record', `(SELECT path FROM layout_fields WHERE layout = f.layout AND name = '${field}')`, type)}, ${d.field('v.record', field, type)})`;
  return `
DROP VIEW IF EXISTS etm_assets;
CREATE VIEW etm_assets AS
SELECT a.asset_key, ${asset('assetName')} AS asset_name, ${asset('fqdn')} AS fqdn,
       ${asset('ipAddress')} AS ip_address, ${asset('operatingSystemName')} AS operating_system_name,
       ${asset('assetCriticalityScore', 'number')} AS asset_criticality_score,
       a.tru_risk_score, a.tru_risk_band, ${asset('identifiedBy')} AS identified_by,
       ${asset('lastScannedOn')} AS last_scanned_on, ${asset('purgedAt')} AS purged_at,
       (SELECT COUNT(*) FROM asset_hosts h WHERE h.asset_key = a.asset_key AND h.purged_at IS NULL) AS live_hosts,
       a.record
  FROM assets a WHERE a.record IS NOT NULL;

DROP VIEW IF EXISTS etm_findings;
CREATE VIEW etm_findings AS
SELECT fa.asset_key || '/' || f.detection_key AS finding_key, fa.asset_key, f.detection_key,
       h.subscription, h.host_id AS qualys_host_id, f.vulnerability_key AS qid,
       ${finding('findingName')} AS finding_name, f.status, f.sub_type, f.ignored,
       f.score AS detection_score, f.severity, ${finding('findingPort', 'number')} AS port,
       ${finding('findingProtocol')} AS protocol, ${finding('findingFirstFoundOn')} AS first_found_on,
       f.last_found AS last_found_on, ${finding('findingLastFixedOn')} AS last_fixed_on,
       h.purged_at AS host_purged_at
  FROM findings f JOIN assets fa ON fa.seq = f.asset_seq JOIN asset_hosts h ON h.seq = f.host_seq
  LEFT JOIN vulnerabilities v ON v.vulnerability_key = f.vulnerability_key
 WHERE f.current = 1;

DROP VIEW IF EXISTS etm_connectors;
CREATE VIEW etm_connectors AS
SELECT name, base_url, username, profile, status, status_at, registered_at, scheduled_at,
       next_run_at, processing_at, processed_at, failed_at, last_error, state_at
  FROM connectors;

DROP VIEW IF EXISTS etm_runs;
CREATE VIEW etm_runs AS
SELECT id, connector, started_at, finished_at, status,
       ${d.field('summary', 'records', 'number')} AS records, error
  FROM runs;
`;
}
