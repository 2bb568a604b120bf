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

-- Ed25519 signatures over (vault id, seq, hash, ts) of the entry at seq.
CREATE TABLE audit_checkpoints (
  seq       INTEGER PRIMARY KEY REFERENCES audit_log (seq),
  ts        INTEGER NOT NULL,
  hash      BLOB    NOT NULL CHECK (length(hash) = 32),
  signature BLOB    NOT NULL CHECK (length(signature) = 64)
) STRICT;

-- Per-subject pseudonym keys, sealed under the vault's audit-pseudonym key. Erasing a subject
-- deletes its row: its entries stay and verify, but nothing links them to the id any more.
CREATE TABLE audit_subjects (
  subject_tag BLOB PRIMARY KEY CHECK (length(subject_tag) = 32),
  sealed_key  BLOB NOT NULL
) STRICT, WITHOUT ROWID;
