-- childvault schema v1. Forward-only: never edit this file once released; add 0002_… instead.
-- Times are Unix milliseconds. Ids are 16-byte time-ordered (UUIDv7 layout) blobs.

-- One row: who this vault is and how its master key is checked.
CREATE TABLE vault_meta (
  singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
  vault_id        BLOB    NOT NULL CHECK (length(vault_id) = 16),
  format_version  INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  master_provider TEXT    NOT NULL,   -- MasterKeyProvider.id that wraps the keys below
  master_params   TEXT,               -- provider parameters (Argon2id salt and costs), not secret
  master_check    BLOB    NOT NULL    -- a known value wrapped by the master key: tells a wrong key from tampering
) STRICT;

-- Vault-wide secrets wrapped by the master key (subject index key; later the audit signing key).
CREATE TABLE vault_keys (
  name       TEXT    PRIMARY KEY,
  wrapped    BLOB    NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- Key-encryption keys, wrapped by the master key. Exactly one is active.
CREATE TABLE keks (
  version      INTEGER PRIMARY KEY CHECK (version >= 1),
  state        TEXT    NOT NULL CHECK (state IN ('active', 'retired', 'destroyed')),
  wrapped      BLOB    CHECK ((state = 'destroyed') = (wrapped IS NULL)),
  created_at   INTEGER NOT NULL,
  retired_at   INTEGER,
  destroyed_at INTEGER
) STRICT;
CREATE UNIQUE INDEX keks_one_active ON keks (state) WHERE state = 'active';

-- The current value of each (subject, category): its data key, wrapped by a KEK, and the value
-- sealed under that key, in one row so a write touches two B-trees (the table and the unique
-- index). The subject appears only as a keyed digest (subject_tag), so the file alone does not say
-- which accounts are children. No other index: retention sweeps and per-KEK counts scan the table.
CREATE TABLE records (
  id              INTEGER PRIMARY KEY,                               -- rowid: new rows append
  subject_tag     BLOB    NOT NULL CHECK (length(subject_tag) = 32),
  category        TEXT    NOT NULL,
  dek_id          BLOB    NOT NULL CHECK (length(dek_id) = 16),      -- time-ordered, never reused, bound into both AADs
  kek_version     INTEGER NOT NULL REFERENCES keks (version),
  wrapped_dek     BLOB    NOT NULL,
  format          INTEGER NOT NULL,   -- 1 = one sealed box in body; 2 = secretstream, header in body
  body            BLOB    NOT NULL,
  chunk_count     INTEGER NOT NULL CHECK (chunk_count >= 0),
  plaintext_bytes INTEGER NOT NULL,
  written_at      INTEGER NOT NULL,   -- bound into the AAD; expiry = written_at + the category's current retention
  UNIQUE (subject_tag, category)
) STRICT;

-- Encrypted chunks of stream-format records, in order; deleted with their record by the vault.
CREATE TABLE record_chunks (
  dek_id BLOB    NOT NULL,
  idx    INTEGER NOT NULL CHECK (idx >= 0),
  data   BLOB    NOT NULL,
  PRIMARY KEY (dek_id, idx)
) STRICT;
