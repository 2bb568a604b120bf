/**
 * The raw baseline of KEK rotation, run by bench/rotation-child.ts on its own copy of the vault
 * file: what any program must do to rewrap every data key, and nothing more. It pages the rows
 * by id (`SELECT id, subject_tag, category, dek_id, kek_version, wrapped_dek … WHERE id > ? ORDER
 * BY id LIMIT 1000`), opens each wrapped key with libsodium's
 * crypto_aead_xchacha20poly1305_ietf_decrypt under the old KEK with the vault's AAD
 * (src/keys/data-keys.ts `dekAad`), seals it again under the new KEK (fresh nonce, the AAD naming
 * the new version, same box layout; nonces cut from a buffer refilled by node:crypto randomFillSync,
 * since libsodium.js's randombytes_buf costs ~120 µs a call here) and UPDATEs the row, one IMMEDIATE transaction per page, on a
 * plain better-sqlite3 connection with the vault's pragmas (WAL, synchronous=FULL, secure_delete).
 *
 * Setup, not timed: the old KEK is unwrapped through the master-key provider, and the new one is
 * wrapped by it and stored as the active KEK (as the vault's rotation does first), so the vault's
 * own code can check the result afterwards.
 */
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { randomFillSync } from 'node:crypto';
import { loadSodium } from '../src/crypto/sodium.js';
import { dekAad } from '../src/keys/data-keys.js';
import { kekAad } from '../src/keys/keyring.js';
import type { MasterKeyProvider } from '../src/keys/master-key.js';
import { unlockForBench } from './unlock.js';

/** The sealed-box layout of a wrapped key (src/crypto/aead.ts): version(1) ‖ nonce(24) ‖ ciphertext ‖ tag(16). */
const BOX_VERSION = 1;
const NONCE = 24;

/** Nonces cut from a 24 KiB buffer of OS randomness, refilled when used up. */
class NoncePool {
  readonly #pool = Buffer.allocUnsafe(1024 * NONCE);
  #at = this.#pool.length;

  /** Writes a fresh nonce into `target` at `offset`; returns it (a view of `target`). */
  fill(target: Buffer, offset: number): Buffer {
    if (this.#at === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    this.#pool.copy(target, offset, this.#at, this.#at + NONCE);
    this.#at += NONCE;
    return target.subarray(offset, offset + NONCE);
  }
}

interface Row {
  id: number;
  subject_tag: Uint8Array;
  category: string;
  dek_id: Uint8Array;
  kek_version: number;
  wrapped_dek: Uint8Array;
}

export interface RawRotationResult {
  readonly rewrapped: number;
  readonly batches: number;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** Rows still not under the new KEK afterwards (checked after the timed loop). */
  readonly left: number;
}

export interface RawRotationHooks {
  /** Called when the timed loop starts, after every committed page, and when it ends. */
  onStart(): void;
  onBatch(): void;
  onEnd(): void;
}

export async function rawRotation(path: string, provider: MasterKeyProvider, batchSize: number, hooks: RawRotationHooks): Promise<RawRotationResult> {
  await loadSodium();
  await sodium.ready;
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');

    // ---- setup (not timed): the old KEK, and a new one stored wrapped as the active KEK -------
    const unlocked = await unlockForBench(db, provider);
    const repos = { keks: unlocked.keks };
    const fromVersion = repos.keks.activeVersion()!;
    const keys = new Map<number, Uint8Array>([[fromVersion, unlocked.keyring.get(fromVersion).use((k) => Uint8Array.from(k))]]);
    unlocked.keyring.wipe();
    const vaultId = unlocked.meta.vaultId;
    const toVersion = repos.keks.nextVersion();
    const newKek = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
    const wrappedKek = await provider.wrap(newKek, kekAad(vaultId, toVersion));
    db.transaction(() => {
      repos.keks.retire(fromVersion, Date.now());
      repos.keks.insertActive(toVersion, wrappedKek, Date.now());
    }).immediate();

    // ---- the timed loop ------------------------------------------------------------------------
    const select = db.prepare<[number, number], Row>('SELECT id, subject_tag, category, dek_id, kek_version, wrapped_dek FROM records WHERE id > ? ORDER BY id LIMIT ?');
    const update = db.prepare<[number, Uint8Array, number]>('UPDATE records SET kek_version = ?, wrapped_dek = ? WHERE id = ?');
    const nonces = new NoncePool();
    let rewrapped = 0;
    const page = db.transaction((after: number): number | null => {
      const rows = select.all(after, batchSize);
      for (const row of rows) {
        if (row.kek_version === toVersion) continue;
        const oldKek = keys.get(row.kek_version);
        const box = row.wrapped_dek;
        if (oldKek === undefined || box[0] !== BOX_VERSION) throw new Error(`bench: record ${row.id}: unexpected KEK v${row.kek_version} or box`);
        const binding = { vaultId, subjectTag: row.subject_tag, category: row.category, dekId: row.dek_id };
        const dek = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, box.subarray(1 + NONCE), dekAad(binding, row.kek_version), box.subarray(1, 1 + NONCE), oldKek);
        const wrapped = Buffer.allocUnsafe(box.length);
        wrapped[0] = BOX_VERSION;
        const nonce = nonces.fill(wrapped, 1);
        const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(dek, dekAad(binding, toVersion), null, nonce, newKek);
        dek.fill(0);
        if (sealed.length !== box.length - 1 - NONCE) throw new Error('bench: a rewrapped key changed size');
        wrapped.set(sealed, 1 + NONCE);
        update.run(toVersion, wrapped, row.id);
        rewrapped++;
      }
      return rows.length === 0 ? null : rows[rows.length - 1]!.id;
    });
    let batches = 0;
    hooks.onStart();
    for (let cursor = 0; ; ) {
      const last = page.immediate(cursor);
      if (last === null) break;
      cursor = last;
      batches++;
      hooks.onBatch();
    }
    hooks.onEnd();
    newKek.fill(0);
    for (const key of keys.values()) key.fill(0);
    const left = (db.prepare('SELECT count(*) AS n FROM records WHERE kek_version != ?').get(toVersion) as { n: number }).n;
    return { rewrapped, batches, fromVersion, toVersion, left };
  } finally {
    provider.close?.();
    db.close();
  }
}
