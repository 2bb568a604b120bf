/**
 * Builds the vault the KEK-rotation case rotates: `count` records whose data keys are genuine —
 * each a fresh random key from `generateDek`, wrapped by `wrapDek` under the vault's real KEK v1
 * (unwrapped through the master-key provider by `unlockVault`, as `openVault` does) with the
 * vault's own AAD, a `newId` data-key id and a random 32-byte subject tag — inserted straight into
 * `records` in transactions of 50,000 rows. Their bodies are random bytes of the size of a sealed
 * location (no value is ever decrypted by a rewrap, so nothing reads them).
 *
 * Spread evenly among them (between the bulk transactions) are GENUINE_VALUES values written by
 * `vault.putMany` under subjects `rot:1`, `rot:2` …: real values the bench reads back after the
 * rotation. The bulk rows have no audit entries (only the vault's own puts do).
 */
import { randomBytes } from '../src/crypto/random.js';
import { loadSodium } from '../src/crypto/sodium.js';
import { newId } from '../src/crypto/random.js';
import { keyFile, openVault } from '../src/index.js';
import { generateDek, unwrapDek, wrapDek } from '../src/keys/data-keys.js';
import { unlockForBench } from './unlock.js';
import { RECORD_ROW } from '../src/store/record-repository.js';
import { rowValues } from '../src/store/rows.js';
import { openDatabase, writeTransaction } from '../src/store/database.js';
import { benchCtx, benchPolicy } from './policy.js';

/** Rows per bulk transaction. */
const BULK_BATCH = 50_000;
/** Values written through the vault (spread over the table), read back after a rotation. */
const GENUINE_VALUES = 1000;
const CATEGORY = 'location';

export const location = { lat: 30.274085, lon: 120.15507, accuracyM: 12.5, capturedAt: '2024-05-01T08:30:00.000Z' };

export interface BuiltRotationVault {
  /** Records in the vault (bulk rows + genuine values). */
  readonly records: number;
  /** Subjects of the genuine values (`rot:1` …), in table order. */
  readonly genuineSubjects: string[];
  readonly bodyBytes: number;
  readonly seconds: number;
}

/** The subjects of the genuine values for a vault of `count` records. */
function genuineCount(count: number): number {
  return Math.max(1, Math.min(GENUINE_VALUES, Math.floor(count / 100)));
}

/**
 * Creates a vault at `path` (with `benchPolicy`) holding `count` records, all under KEK v1.
 * The vault is closed afterwards and its WAL checkpointed into the file, so the file can be copied.
 */
export async function buildRotationVault(path: string, keyPath: string, count: number, log: (line: string) => void): Promise<BuiltRotationVault> {
  await loadSodium();
  const started = performance.now();
  const genuine = genuineCount(count);
  const bulk = count - genuine;
  const segments = Math.min(genuine, Math.max(1, Math.ceil(bulk / BULK_BATCH)));
  const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), durability: 'normal', policy: benchPolicy });
  const genuineSubjects: string[] = [];
  const putGenuine = async (n: number): Promise<void> => {
    if (n === 0) return;
    const items = Array.from({ length: n }, () => {
      const subject = `rot:${genuineSubjects.length + 1}`;
      genuineSubjects.push(subject);
      return { subject, values: { location } };
    });
    await vault.putMany(items, benchCtx);
  };
  const db = openDatabase({ path, durability: 'normal' });
  const provider = keyFile(keyPath);
  let bodyBytes = 0;
  try {
    db.pragma('cache_size = -262144'); // 256 MiB: the subject-tag index of a million rows stays in memory
    // The first genuine values tell the size of a sealed location body (the bulk rows copy it).
    const perSegment = (i: number): number => Math.floor((genuine * (i + 1)) / segments) - Math.floor((genuine * i) / segments);
    await putGenuine(perSegment(0));
    const sizes = db.prepare('SELECT length(body) AS body, plaintext_bytes AS plaintext FROM records LIMIT 1').get() as { body: number; plaintext: number };
    const body = randomBytes(sizes.body);
    bodyBytes = sizes.body;
    const unlocked = await unlockForBench(db, provider);
    const version = unlocked.keks.activeVersion();
    if (version !== 1) throw new Error(`bench: a fresh vault should be on KEK v1, not v${version}`);
    const kek = unlocked.keyring.get(version);
    const vaultId = unlocked.meta.vaultId;
    // The records rows as the vault writes them (RecordRepository.replace), MAC included; the
    // bulk rows copy the sealed body of a genuine one, which a rewrap never opens.
    const insert = db.prepare(RECORD_ROW.insert);
    const fill = async (n: number): Promise<void> => {
      await writeTransaction(db, 'bench: filling records', () => {
        const now = Date.now();
        for (let i = 0; i < n; i++) {
          const subjectTag = randomBytes(32);
          const dekId = newId(now);
          const dek = generateDek();
          try {
            const wrapped = wrapDek(kek, dek, { vaultId, subjectTag, category: CATEGORY, dekId }, version);
            const row = { subjectTag, category: CATEGORY, dekId, format: 1, chunkCount: 0, plaintextBytes: sizes.plaintext, writtenAt: now };
            insert.run(...rowValues(RECORD_ROW, row, unlocked.rows.mac(RECORD_ROW, row), version, wrapped, body));
          } finally {
            dek.wipe();
          }
        }
      });
    };
    try {
      let filled = 0;
      for (let s = 0; s < segments; s++) {
        const target = Math.floor((bulk * (s + 1)) / segments);
        while (filled < target) {
          const n = Math.min(BULK_BATCH, target - filled);
          await fill(n);
          filled += n;
        }
        if (s > 0) await putGenuine(perSegment(s));
        if (segments >= 10 && (s + 1) % Math.ceil(segments / 4) === 0) log(`  ${(filled + genuineSubjects.length).toLocaleString('en-US')} records …`);
      }
    } finally {
      unlocked.wipe();
    }
    const total = (db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
    if (total !== count) throw new Error(`bench: built ${total} records, expected ${count}`);
  } finally {
    provider.close?.();
    await vault.close();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  return { records: count, genuineSubjects, bodyBytes, seconds: (performance.now() - started) / 1000 };
}

export interface UnwrapCheck {
  /** Rows whose data key was unwrapped. */
  readonly checked: number;
  /** Data keys per KEK version among them. */
  readonly versions: Record<number, number>;
}

/**
 * Unwraps the data keys of `sample` random records of the vault at `path` with the vault's own
 * code (`unwrapDek`, each KEK unwrapped through the master-key provider), so a key rewrapped wrongly
 * — wrong KEK, wrong AAD, wrong version — fails with INTEGRITY. Opens its own connection.
 */
export async function checkDataKeys(path: string, keyPath: string, sample: number): Promise<UnwrapCheck> {
  await loadSodium();
  const db = openDatabase({ path, durability: 'normal', mustExist: true });
  const provider = keyFile(keyPath);
  try {
    const unlocked = await unlockForBench(db, provider);
    try {
      const maxId = (db.prepare('SELECT max(id) AS n FROM records').get() as { n: number | null }).n ?? 0;
      if (maxId === 0) throw new Error(`bench: no records in ${path}`);
      const select = db.prepare<[number], { id: number; subjectTag: Uint8Array; category: string; dekId: Uint8Array; kekVersion: number; wrappedDek: Uint8Array }>(
        'SELECT id, subject_tag AS subjectTag, category, dek_id AS dekId, kek_version AS kekVersion, wrapped_dek AS wrappedDek FROM records WHERE id >= ? ORDER BY id LIMIT 1',
      );
      const versions: Record<number, number> = {};
      let checked = 0;
      for (let i = 0; i < sample; i++) {
        const row = select.get(1 + Math.floor(Math.random() * maxId));
        if (row === undefined) continue;
        if (!unlocked.keyring.has(row.kekVersion)) {
          const wrapped = unlocked.keks.get(row.kekVersion)?.wrapped;
          if (wrapped == null) throw new Error(`bench: record ${row.id} names KEK v${row.kekVersion}, which has no wrapped key`);
          await unlocked.keyring.load(row.kekVersion, wrapped);
        }
        const binding = { vaultId: unlocked.meta.vaultId, subjectTag: row.subjectTag, category: row.category, dekId: row.dekId };
        const dek = unwrapDek(unlocked.keyring.get(row.kekVersion), row.wrappedDek, binding, row.kekVersion);
        if (dek.length !== 32) throw new Error(`bench: record ${row.id}: the data key unwrapped to ${dek.length} bytes`);
        dek.wipe();
        versions[row.kekVersion] = (versions[row.kekVersion] ?? 0) + 1;
        checked++;
      }
      return { checked, versions };
    } finally {
      unlocked.wipe();
    }
  } finally {
    provider.close?.();
    db.close();
  }
}
