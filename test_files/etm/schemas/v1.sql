-- The ETM store's tables at schema version 1 (src/etm/store/schema.ts SCHEMA at 503c905), for test/etm/migrations.test.ts.
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
  status        TEXT NOT NULL,                 -- Registered|Scheduled|Processing|Processed|Failed
  status_at     TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  scheduled_at  TEXT,
  next_run_at   TEXT,
  processing_at TEXT,
  processed_at  TEXT,
  failed_at     TEXT,
  last_error    TEXT,
  state         TEXT,                          -- the source's Airbyte state, committed with its data
  state_at      TEXT,
  pid           INTEGER                        -- the etm process, while Processing
);

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
