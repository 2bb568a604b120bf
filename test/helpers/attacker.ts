/**
 * The attacker of test/integration/attacks*.test.ts and upgrade.test.ts: someone who can write the
 * vault file (their own SQLite connection) but holds no master key, against a vault under the
 * example policy.
 */
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chainHash, entryDigest, type UnhashedEntry } from '../../src/audit/entry.js';
import { generateKeyFile, keyFile, openVault, type AccessContext, type PolicyInput } from '../../src/index.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { sampleLocation, tempDir } from './fixtures.js';
import { EXAMPLE_POLICY_PATH } from './policy.js';

export const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as PolicyInput;
export const guardian: AccessContext = { actor: 'svc:guardian-portal', role: 'guardian-portal', purpose: 'guardian-access' };
export const officer: AccessContext = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' };
export const operator: AccessContext = { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' };
export const keyOps: AccessContext = { actor: 'cli:op', role: 'operator', purpose: 'key-management' };
export const locator: AccessContext = { actor: 'svc:app', role: 'service', purpose: 'location-sharing' };
export const moderator = (approval: string): AccessContext => ({ actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', approval });
export const contact = { phone: '+8613912345678', email: 'kid.parent@example.com', address: 'No. 9 Wensan Road, Xihu District, Hangzhou' };
export const DAY = 86_400_000;

/** The attacker's write: their own connection to the file, no key. */
export function tamper(path: string, edit: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    db.pragma('foreign_keys = OFF');
    edit(db);
  } finally {
    db.close();
  }
}

/** Reads the file (read-only) outside the vault. */
export function rows<T>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The `n` of `SELECT count(*) AS n …`. */
export const count = (path: string, sql: string, ...params: unknown[]): number => rows<{ n: number }>(path, sql, ...params)[0]!.n;

export interface EntryRow {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  outcome: string;
  reason: string | null;
  detail: string | null;
}
export const lastEntry = (path: string): EntryRow => rows<EntryRow>(path, 'SELECT seq, ts, actor, action, outcome, reason, detail FROM audit_log ORDER BY seq DESC LIMIT 1')[0]!;

/** A vault under the example policy with one child holding a location and a contact, another a location. */
export async function exampleVault() {
  const dir = tempDir();
  const path = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  let now = new Date('2026-11-10T00:00:00Z');
  const open = async (key = keyPath) => openVault({ create: true, path, masterKey: keyFile(key), policy, now: () => now });
  await generateKeyFile(keyPath);
  const vault = await open();
  await vault.put('u:kid', { location: sampleLocation, contact }, operator);
  await vault.put('u:other', { location: sampleLocation }, operator);
  return { dir, path, keyPath, vault, open, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

/** Appends an entry forged by someone who knows the format: fields of their choice, a correct chain hash, no MAC. */
export function forgeEntry(db: Database.Database, change: Partial<UnhashedEntry>): number {
  const head = db.prepare('SELECT seq, ts, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; ts: number; hash: Uint8Array } | undefined;
  const prev = head?.hash ?? (db.prepare('SELECT hash FROM audit_checkpoints WHERE seq = 0').get() as { hash: Uint8Array }).hash;
  const entry: UnhashedEntry = {
    seq: (head?.seq ?? 0) + 1,
    ts: (head?.ts ?? 1_790_000_000_000) + 1,
    actor: 'staff:someone',
    role: 'officer',
    purpose: 'oversight',
    action: 'approval.revoke',
    subject: null,
    categories: '',
    outcome: 'allowed',
    reason: null,
    approval: null,
    consent: null,
    requestId: null,
    detail: null,
    ...change,
  };
  // Written the way the vault writes entries (the columns derived from ENTRY_FIELDS), with no MAC.
  new AuditRepository(db).insert({ ...entry, prevHash: prev, hash: chainHash(prev, entryDigest(entry)) }, null);
  return entry.seq;
}

/** A copy of the format-1 vault of test/fixtures/format1 (its key file made 0600). */
export function copyFormat1Vault(): { path: string; keyPath: string } {
  const fixture = new URL('../fixtures/format1/', import.meta.url);
  const dir = tempDir();
  const path = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  copyFileSync(new URL('vault.sqlite', fixture), path);
  copyFileSync(new URL('master.key', fixture), keyPath);
  chmodSync(keyPath, 0o600);
  return { path, keyPath };
}
