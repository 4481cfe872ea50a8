-- The ETM store's tables at schema version 5 (src/etm/store/schema.ts SCHEMA at de42d1d), for test/etm/migrations.test.ts.
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
-- The console's findings sorted by QDS (the default list), severity or status: a page is a walk
-- of one of these, value by value (ties sorted within one asset), not a sort of every current
-- finding. Only current rows, no detection key (long). An index insert at a random place costs a
-- sync more than the rest of a finding's row; these take a new asset's findings at a few places
-- each (one per value, ~100 for QDS), where they append, and cost bench/etm.js nothing it could
-- measure. One on the QID, with 4,000 such places, made that sync 46% slower, so QID and name
-- sorts are sorted once per state of the store (query/read-model.ts). The severity index also
-- counts sorts by asset or subscription, per (severity, asset, host).
CREATE INDEX IF NOT EXISTS findings_current_by_score ON findings (score DESC, asset_seq) WHERE current = 1;
CREATE INDEX IF NOT EXISTS findings_current_by_severity_and_host ON findings (severity DESC, asset_seq, host_seq) WHERE current = 1;
CREATE INDEX IF NOT EXISTS findings_current_by_status ON findings (status, asset_seq) WHERE current = 1;

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
