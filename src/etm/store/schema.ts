/**
 * The ETM store's tables (SQLite, one file). Identity resolution lives here, not in memory:
 * every Qualys host that merged into an asset is a row of asset_hosts and its identifiers are
 * indexed rows of host_identifiers, so matching works across records, syncs and subscriptions
 * at any scale. Findings are stored as each host reported them (one row per host + detection
 * key, the latest LAST_FOUND kept); `current` marks the one report per asset + detection key that
 * is the ETM finding. Per-QID attributes are stored once in vulnerabilities.
 */
export const SCHEMA_VERSION = 1;

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
  UNIQUE (subscription, host_id)
);
CREATE INDEX IF NOT EXISTS asset_hosts_by_asset ON asset_hosts (asset_key);

CREATE TABLE IF NOT EXISTS host_identifiers (
  rule         TEXT NOT NULL,
  value        TEXT NOT NULL,
  subscription TEXT NOT NULL,
  host_id      TEXT NOT NULL,
  PRIMARY KEY (rule, value, subscription, host_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS host_identifiers_by_host ON host_identifiers (subscription, host_id);

CREATE TABLE IF NOT EXISTS vulnerabilities (
  vulnerability_key TEXT PRIMARY KEY,        -- the QID
  version           TEXT,                    -- LAST_SERVICE_MODIFICATION_DATETIME: newest wins
  record            TEXT NOT NULL            -- per-QID finding attributes (JSON)
);

CREATE TABLE IF NOT EXISTS findings (
  id                INTEGER PRIMARY KEY,
  asset_key         TEXT NOT NULL,
  detection_key     TEXT NOT NULL,
  subscription      TEXT NOT NULL,
  host_id           TEXT NOT NULL,
  vulnerability_key TEXT NOT NULL,
  current           INTEGER NOT NULL DEFAULT 1, -- the latest report of this asset + detection key
  status            TEXT,
  sub_type          TEXT,
  ignored           INTEGER,
  score             REAL,
  severity          INTEGER,
  last_found        TEXT,
  record            TEXT NOT NULL               -- per-detection finding attributes (JSON)
);
CREATE UNIQUE INDEX IF NOT EXISTS findings_identity
  ON findings (asset_key, detection_key, subscription, host_id);

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
  state_at      TEXT
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
`;
