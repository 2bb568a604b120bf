-- Access control (docs/policy.md): guardian consents, officer approvals for staff, read counters.
-- Subjects appear as their keyed tag, as in records. Erasing a subject deletes its consent and
-- approval-scope rows; the audit log keeps the (pseudonymous) history of grants and withdrawals.

-- A guardian's consent for one purpose and a set of categories (granular: never bundled).
CREATE TABLE consents (
  id             TEXT    PRIMARY KEY,                 -- "cns_" + time-ordered uuid
  subject_tag    BLOB    NOT NULL CHECK (length(subject_tag) = 32),
  purpose        TEXT    NOT NULL,
  categories     TEXT    NOT NULL,                    -- sorted, comma-separated
  guardian_ref   TEXT    NOT NULL,                    -- the service's opaque id of the guardian
  verification   TEXT    NOT NULL,                    -- how the guardian was verified
  notice_version TEXT    NOT NULL,                    -- the notice the guardian was shown
  granted_at     INTEGER NOT NULL,
  expires_at     INTEGER,
  withdrawn_at   INTEGER
) STRICT;
CREATE INDEX consents_by_subject ON consents (subject_tag, purpose);

-- An officer's approval for a staff actor to read named subjects for one purpose.
CREATE TABLE approvals (
  id          TEXT    PRIMARY KEY,                    -- "apv_" + time-ordered uuid
  officer     TEXT    NOT NULL,
  actor       TEXT    NOT NULL,
  purpose     TEXT    NOT NULL,
  categories  TEXT    NOT NULL,                       -- sorted, comma-separated
  reason      TEXT    NOT NULL,                       -- the ticket or case it serves
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  read_budget INTEGER NOT NULL CHECK (read_budget >= 1),
  reads_used  INTEGER NOT NULL DEFAULT 0 CHECK (reads_used >= 0),
  revoked_at  INTEGER
) STRICT;

CREATE TABLE approval_subjects (
  approval_id TEXT NOT NULL REFERENCES approvals (id),
  subject_tag BLOB NOT NULL CHECK (length(subject_tag) = 32),
  PRIMARY KEY (approval_id, subject_tag)
) STRICT, WITHOUT ROWID;

-- Reads per actor per minute: the sum over the last 60 minutes is the sliding hourly count.
CREATE TABLE read_counters (
  actor  TEXT    NOT NULL,
  minute INTEGER NOT NULL,                            -- Unix time / 60000
  reads  INTEGER NOT NULL,
  PRIMARY KEY (actor, minute)
) STRICT, WITHOUT ROWID;
