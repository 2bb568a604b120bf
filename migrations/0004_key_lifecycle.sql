-- Key lifecycle (docs/keys.md): resumable KEK rotations and the record of erasures that backups
-- may still undo until the KEKs that wrapped the erased data keys are destroyed.

-- One row per rotation; an unfinished row is resumed by the next `keys rotate`.
CREATE TABLE key_rotations (
  id          INTEGER PRIMARY KEY,
  to_version  INTEGER NOT NULL REFERENCES keks (version),
  reencrypt   INTEGER NOT NULL CHECK (reencrypt IN (0, 1)),
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  cursor      INTEGER NOT NULL DEFAULT 0,    -- records.id up to which the rotation has passed
  rewrapped   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX key_rotations_one_running ON key_rotations (finished_at) WHERE finished_at IS NULL;

-- What an erasure destroyed, without saying whose. A backup made before an erasure holds the
-- erased data key, its KEK and that KEK wrapped by the master key of the time: it decrypts the
-- erased values for as long as that master key exists. Only a master-key rotation after the
-- erasure (and destroying the old master key, outside the vault) makes such backups unreadable.
CREATE TABLE erasures (
  id           INTEGER PRIMARY KEY,
  erased_at    INTEGER NOT NULL,
  reason       TEXT    NOT NULL,                -- erase, consent-withdrawal, retention
  values_count INTEGER NOT NULL
) STRICT;

-- Master-key rotations: erasures before the last one are safe from older backups once the old
-- master key is destroyed.
CREATE TABLE master_rotations (
  id         INTEGER PRIMARY KEY,
  rotated_at INTEGER NOT NULL
) STRICT;
