-- Authenticated rows (docs/format.md §9, docs/audit.md "Authenticated rows"): every row the vault
-- decides from carries a MAC under the vault's integrity key, which only the master key unlocks,
-- so someone who can write this file but lacks the key cannot forge or alter what the vault relies
-- on. The columns are nullable only for rows written before this migration: the vault fills them
-- when it upgrades the vault at its next open (format 2), and from then on a NULL MAC fails like a
-- wrong one.

-- BLAKE2b-256(integrity key, encode("row/audit_log", u64 seq, hash)): the chain hash binds every field.
ALTER TABLE audit_log ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE consents ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE approvals ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE approval_subjects ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE keks ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE key_rotations ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE canaries ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE blind_index ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
ALTER TABLE audit_config ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
-- A record's value and data key are sealed; its MAC covers what is decided without decrypting:
-- that it exists (presence views), its category and write time (retention sweeps), its sizes.
ALTER TABLE records ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);

-- The last checkpoint the vault signed (seq and hash), updated with every checkpoint: the log must
-- reach it, so neither the whole log nor its tail back to an earlier checkpoint can be deleted
-- without a trace (only rolling this row back with them can, docs/audit.md).
CREATE TABLE audit_anchor (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  seq       INTEGER NOT NULL CHECK (seq >= 0),
  hash      BLOB    NOT NULL CHECK (length(hash) = 32),
  mac       BLOB    NOT NULL CHECK (length(mac) = 32)
) STRICT;

-- Read counters become one authenticated row per actor: the reads of each of the last 60 minutes
-- (60 big-endian u32, the last one for `minute`), so a read checks one MAC instead of 60. Counts
-- are transient (they only matter for an hour), so the old per-minute rows are dropped.
DROP TABLE read_counters;
CREATE TABLE read_counters (
  actor  TEXT    PRIMARY KEY,
  minute INTEGER NOT NULL,                             -- Unix time / 60000 of the last slot
  counts BLOB    NOT NULL CHECK (length(counts) = 240),
  mac    BLOB    NOT NULL CHECK (length(mac) = 32)
) STRICT, WITHOUT ROWID;

-- What `status` reports about erasures and backups, kept as one authenticated row (updated with
-- every erasure and master-key rotation) rather than summed from the history tables, which stay
-- as a human-readable history.
CREATE TABLE erasure_totals (
  singleton             INTEGER PRIMARY KEY CHECK (singleton = 1),
  erasures              INTEGER NOT NULL,
  values_count          INTEGER NOT NULL,
  since_master_rotation INTEGER NOT NULL,
  last_master_rotation  INTEGER,
  mac                   BLOB    NOT NULL CHECK (length(mac) = 32)
) STRICT;
