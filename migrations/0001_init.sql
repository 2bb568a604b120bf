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

-- One data key per (subject, category), wrapped by a KEK. The subject appears only as a keyed
-- digest (subject_tag), so the file alone does not say which accounts are children.
CREATE TABLE deks (
  id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
  subject_tag BLOB    NOT NULL CHECK (length(subject_tag) = 32),
  category    TEXT    NOT NULL,
  kek_version INTEGER NOT NULL REFERENCES keks (version),
  wrapped     BLOB    NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (subject_tag, category)
) STRICT;
CREATE INDEX deks_by_kek ON deks (kek_version, id);

-- The current value of each (subject, category), sealed under its data key.
CREATE TABLE records (
  dek_id          BLOB    PRIMARY KEY REFERENCES deks (id) ON DELETE CASCADE,
  format          INTEGER NOT NULL,   -- 1 = one sealed box in body; 2 = secretstream, header in body
  body            BLOB    NOT NULL,
  chunk_count     INTEGER NOT NULL CHECK (chunk_count >= 0),
  plaintext_bytes INTEGER NOT NULL,
  written_at      INTEGER NOT NULL    -- bound into the AAD; expiry = written_at + the category's current retention
) STRICT;
CREATE INDEX records_by_written_at ON records (written_at);

-- Encrypted chunks of stream-format records, in order.
CREATE TABLE record_chunks (
  dek_id BLOB    NOT NULL REFERENCES records (dek_id) ON DELETE CASCADE,
  idx    INTEGER NOT NULL CHECK (idx >= 0),
  data   BLOB    NOT NULL,
  PRIMARY KEY (dek_id, idx)
) STRICT;
