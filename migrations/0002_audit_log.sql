-- The tamper-evident access log (docs/audit.md). Append-only: the vault never updates or deletes
-- entries. No index beyond the primary key: every write pays for each index, and exports and
-- reports scan the log in order anyway.

-- One entry per operation, hash-chained: hash = BLAKE2b-256(encode("audit-chain", prev_hash,
-- BLAKE2b-256(encode("audit-entry", fields...)))). No plaintext, ciphertext or key bytes.
CREATE TABLE audit_log (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 1),   -- gapless from 1
  ts         INTEGER NOT NULL,
  actor      TEXT    NOT NULL,
  role       TEXT    NOT NULL,
  purpose    TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  subject    BLOB    CHECK (subject IS NULL OR length(subject) = 32),  -- keyed pseudonym, not the id
  categories TEXT    NOT NULL,                       -- sorted, comma-separated; '' for none
  outcome    TEXT    NOT NULL CHECK (outcome IN ('allowed', 'denied', 'error')),
  reason     TEXT,                                   -- the error or refusal code
  approval   TEXT,
  consent    TEXT,
  request_id TEXT,
  detail     TEXT,                                   -- canonical JSON object of counts and labels
  prev_hash  BLOB    NOT NULL CHECK (length(prev_hash) = 32),
  hash       BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

-- Ed25519 signatures over (vault id, seq, hash, ts, checkpoint interval) of the entry at seq; seq 0
-- signs the genesis hash. One is required at least every `checkpoint_every` entries, so deleting
-- checkpoints (to re-hash a forged chain) is itself detected.
CREATE TABLE audit_checkpoints (
  seq       INTEGER PRIMARY KEY CHECK (seq >= 0),
  ts        INTEGER NOT NULL,
  hash      BLOB    NOT NULL CHECK (length(hash) = 32),
  signature BLOB    NOT NULL CHECK (length(signature) = 64)
) STRICT;

-- The checkpoint interval, fixed when the vault is created (it is signed into every checkpoint).
CREATE TABLE audit_config (
  singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
  checkpoint_every INTEGER NOT NULL CHECK (checkpoint_every >= 1)
) STRICT;

-- Attempts to open the vault with a wrong master key: nothing can be signed without the key, so
-- they wait here and enter the chain at the next successful open.
CREATE TABLE audit_pending (
  id      INTEGER PRIMARY KEY,
  ts      INTEGER NOT NULL,
  actor   TEXT    NOT NULL,
  role    TEXT    NOT NULL,
  purpose TEXT    NOT NULL,
  action  TEXT    NOT NULL,
  reason  TEXT    NOT NULL
) STRICT;

-- Per-subject pseudonym keys, sealed under the vault's audit-pseudonym key. Erasing a subject
-- deletes its row: its entries stay and verify, but nothing links them to the id any more.
CREATE TABLE audit_subjects (
  subject_tag BLOB PRIMARY KEY CHECK (length(subject_tag) = 32),
  sealed_key  BLOB NOT NULL
) STRICT, WITHOUT ROWID;
