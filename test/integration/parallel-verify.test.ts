/**
 * Live verification of a large log in worker threads gives exactly the verdict of one pass: the
 * same counts for an untouched log, and the same first bad seq and message for each kind of
 * tampering, wherever it falls — inside a range or on the seam between two. The parallel path runs
 * only from the built package (its worker is dist/audit/verify-worker.js), so this test opens the
 * vault through dist/, and the one-pass verdict comes from the sources (where no worker file exists).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntries } from '../../bench/audit-log-builder.js';
import * as built from '../../dist/index.js';
import { chainHash, entryDigest, type UnhashedEntry } from '../../src/audit/entry.js';
import { PARALLEL_MIN_ENTRIES, verifyWorkers } from '../../src/audit/parallel-verify.js';
import * as source from '../../src/index.js';
import { ctx, tempDir } from '../helpers/fixtures.js';
import { testPolicy } from '../helpers/policy.js';

const ENTRIES = PARALLEL_MIN_ENTRIES + 20_000;
let original: { path: string; keyPath: string; head: number };

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'childvault-parallel-'));
  const path = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  const vault = await source.openVault({ create: true, path, masterKey: await source.generateKeyFile(keyPath), policy: testPolicy });
  await vault.close();
  const head = await appendAuditEntries(path, source.keyFile(keyPath), ENTRIES);
  original = { path, keyPath, head };
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A copy of the log, tampered with by `edit`, verified both ways. */
async function bothWays(edit: (db: Database.Database) => void) {
  const dir = tempDir('childvault-parallel-case-');
  const path = join(dir, 'pool.db');
  copyFileSync(original.path, path);
  const db = new Database(path);
  db.pragma('foreign_keys = OFF');
  edit(db);
  db.close();
  const verify = async (lib: typeof source | typeof built) => {
    const vault = await lib.openVault({ create: true, path, masterKey: lib.keyFile(original.keyPath), policy: testPolicy });
    try {
      return await vault.audit.verify(ctx);
    } finally {
      await vault.close();
    }
  };
  // The sources first: their verification entry then sits where the built one will look.
  const copy = join(dir, 'again.db');
  copyFileSync(path, copy);
  const parallel = await verify(built);
  copyFileSync(copy, path);
  const onePass = await verify(source);
  return { parallel, onePass };
}

/** The seq where the first range ends and the second begins. */
const seam = () => Math.floor((original.head + 1) / verifyWorkers()); // +1: the opening entry of the verifying vault

/** Rewrites entry `seq`'s actor and re-hashes the chain after it (what someone who knows the format does). */
function forgeAt(db: Database.Database, seq: number): void {
  const rows = db
    .prepare('SELECT seq, ts, actor, role, purpose, action, subject, categories, outcome, reason, approval, consent, request_id AS requestId, detail, prev_hash AS prevHash FROM audit_log WHERE seq >= ? ORDER BY seq')
    .all(seq) as (UnhashedEntry & { prevHash: Uint8Array })[];
  let prev = rows[0]!.prevHash;
  const update = db.prepare('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?');
  for (const row of rows) {
    const entry = row.seq === seq ? { ...row, actor: 'svc:forger' } : row;
    const hash = chainHash(prev, entryDigest(entry));
    update.run(entry.actor, prev, hash, row.seq);
    prev = hash;
  }
}

describe('parallel live verification', () => {
  it('verifies an untouched log with the counts of one pass', async () => {
    // Else the parallel path is never taken and this test compares one pass with itself.
    const { canVerifyInParallel } = await import('../../dist/audit/parallel-verify.js');
    expect(canVerifyInParallel(original.head)).toBe(true);
    const { parallel, onePass } = await bothWays(() => undefined);
    // Each run opened the copy, appending its own `open` entry: the head's hash differs, nothing else.
    expect({ ...parallel, head: parallel.head?.seq }).toEqual({ ...onePass, head: onePass.head?.seq });
    expect(parallel.ok).toBe(true);
    expect(parallel.entries).toBeGreaterThan(ENTRIES);
  });

  it.each([
    ['an edited field inside the first range', (db: Database.Database) => db.prepare("UPDATE audit_log SET actor = 'svc:x' WHERE seq = 500").run()],
    ['an edited field on the seam', (db: Database.Database) => db.prepare("UPDATE audit_log SET actor = 'svc:x' WHERE seq = ?").run(seam() + 1)],
    ['the last entry of the first range deleted', (db: Database.Database) => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seam())],
    ['the first entry of the second range deleted', (db: Database.Database) => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seam() + 1)],
    ['entries on both sides of the seam swapped', (db: Database.Database) =>
      db.exec(`UPDATE audit_log SET seq = 1e9 WHERE seq = ${seam()}; UPDATE audit_log SET seq = ${seam()} WHERE seq = ${seam() + 1}; UPDATE audit_log SET seq = ${seam() + 1} WHERE seq = 1e9;`)],
    ['an entry of the last range forged and the chain re-hashed after it', (db: Database.Database) => { forgeAt(db, original.head - 10); }],
    ['a checkpoint deleted just before the seam', (db: Database.Database) => db.prepare('DELETE FROM audit_checkpoints WHERE seq = (SELECT max(seq) FROM audit_checkpoints WHERE seq <= ?)').run(seam())],
    ['a checkpoint forged in the second range', (db: Database.Database) => db.prepare('UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE seq = (SELECT min(seq) FROM audit_checkpoints WHERE seq > ?)').run(seam())],
    ['the tail cut before the last checkpoint', (db: Database.Database) => db.prepare('DELETE FROM audit_log WHERE seq > (SELECT max(seq) FROM audit_checkpoints) - 5').run()],
    ['every checkpoint deleted', (db: Database.Database) => db.exec('DELETE FROM audit_checkpoints')],
  ])('reports %s at the same seq as one pass', async (_what, edit) => {
    const { parallel, onePass } = await bothWays(edit);
    expect(onePass.ok).toBe(false);
    expect(parallel.problem).toEqual(onePass.problem);
    expect(parallel.ok).toBe(false);
  });
});
