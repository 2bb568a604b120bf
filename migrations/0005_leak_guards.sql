-- Leak guards (docs/guards.md): blind indexes of the values other stores must not hold, and the
-- canary subjects planted to prove a leak.

-- Keyed BLAKE2b-256 digests (key "blind-index" in vault_keys, domain-separated per field) of each
-- stored contact field (normalised) and face/voice blob. A row lives and dies with its record:
-- replacing, erasing or expiring the value deletes it (ON DELETE CASCADE; secure_delete zeroes it).
-- The digest index answers "is this a stored child's value?"; no API maps a digest to a subject.
-- `id` only grows (AUTOINCREMENT never reuses one), so a guard's in-memory filter catches up with
-- rows other processes added by reading those above the last id it saw.
CREATE TABLE blind_index (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id INTEGER NOT NULL REFERENCES records (id) ON DELETE CASCADE,
  field     TEXT    NOT NULL,           -- contact.phone, contact.email, contact.address, face.image, voice.audio
  digest    BLOB    NOT NULL CHECK (length(digest) = 32),
  canary    INTEGER NOT NULL DEFAULT 0 CHECK (canary IN (0, 1)),
  UNIQUE (record_id, field)
) STRICT;
CREATE INDEX blind_index_by_digest ON blind_index (digest);

-- Subjects planted as canaries: fake, realistic children that no legitimate flow reads.
CREATE TABLE canaries (
  subject_tag BLOB    PRIMARY KEY CHECK (length(subject_tag) = 32),
  planted_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
