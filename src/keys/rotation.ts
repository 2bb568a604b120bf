/**
 * KEK rotation: a new active KEK, then every data key rewrapped to it — without decrypting any
 * value (or, with `reencrypt`, each value re-sealed under a fresh data key).
 *
 * Online: each batch is one short IMMEDIATE transaction, so writers wait at most one batch; they
 * wrap new data keys with the new KEK at once (they read the active version inside their own
 * transaction). Resumable: the rotation's row records how far it got in the same transaction as
 * each batch, so after a crash `rotate` finishes the same rotation instead of starting another.
 * Nothing is ever half-rewrapped: a row is updated only if its data key is still the one read.
 */
import { open as openBox, seal } from '../crypto/aead.js';
import { createStreamOpener, createStreamSealer } from '../crypto/stream.js';
import { randomBytes } from '../crypto/random.js';
import { STREAM_BODY_VERSION, RECORD_FORMAT_SINGLE } from '../crypto/record-cipher.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { integrityError, VaultError } from '../errors.js';
import { newId } from '../crypto/random.js';
import { pauseBetweenBatches, writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { KekRepository } from '../store/kek-repository.js';
import type { ResealableRow, RotatableRow, RotationRepository } from '../store/rotation-repository.js';
import { generateDek, recordAad, unwrapDek, wrapDek, type DekBinding } from './data-keys.js';
import { kekAad, KekNotLoaded, type Keyring } from './keyring.js';
import type { MasterKeyProvider } from './master-key.js';

export const DEFAULT_BATCH_SIZE = 1000;
/** Re-encryption batches also close at this many plaintext bytes, so memory stays bounded. */
const REENCRYPT_BATCH_BYTES = 32 * 1024 * 1024;

export interface RotationOptions {
  /** Data keys per transaction (default 1000): the longest a concurrent writer waits is one batch. */
  readonly batchSize?: number;
  /** Also replace every data key and re-encrypt its value (default false). */
  readonly reencrypt?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface RotationPlan {
  /** True when an interrupted rotation will be finished instead of a new one started. */
  readonly resuming: boolean;
  /** The KEK version data keys move to (the next version when a new rotation starts). */
  readonly toVersion: number;
  readonly reencrypt: boolean;
  /** Data keys per KEK version now. */
  readonly dataKeysByKek: readonly { readonly version: number; readonly state: string; readonly dataKeys: number }[];
  /** Data keys still to rewrap. */
  readonly toRewrap: number;
  /** A rough duration, from this machine's measured rate (~150k rewraps/s, ~10 MB/s re-encryption overhead aside). */
  readonly estimatedSeconds: number;
}

export interface RotationSummary {
  readonly toVersion: number;
  readonly resumed: boolean;
  readonly reencrypt: boolean;
  readonly rewrapped: number;
  readonly batches: number;
  readonly durationMs: number;
}

export interface RotationDeps {
  readonly db: SqliteDatabase;
  readonly keks: KekRepository;
  readonly rotations: RotationRepository;
  readonly keyring: Keyring;
  readonly provider: MasterKeyProvider;
  readonly vaultId: Uint8Array;
  now(): number;
  /** Loads a KEK version this process has not unwrapped yet. */
  loadKek(version: number): Promise<void>;
  /** Called inside the transactions that start and finish a rotation (audit entries). */
  onStart(toVersion: number, fromVersion: number, reencrypt: boolean): void;
  onFinish(toVersion: number, rewrapped: number, reencrypt: boolean): void;
  /** A data key id no longer valid (re-encryption replaced it). */
  forgetDek(dekId: Uint8Array): void;
}

/** The plan of the next `rotate` call: what it would do, changing nothing. */
export function planRotation(deps: RotationDeps, reencrypt: boolean): RotationPlan {
  const running = deps.rotations.running();
  const usage = deps.keks.usage();
  const toVersion = running?.toVersion ?? deps.keks.nextVersion();
  const toRewrap = usage.filter((k) => k.version !== toVersion).reduce((n, k) => n + k.dekCount, 0);
  const rate = (running?.reencrypt ?? reencrypt) ? 20_000 : 150_000;
  return {
    resuming: running !== undefined,
    toVersion,
    reencrypt: running?.reencrypt ?? reencrypt,
    dataKeysByKek: usage.map((k) => ({ version: k.version, state: k.state, dataKeys: k.dekCount })),
    toRewrap,
    estimatedSeconds: Math.ceil(toRewrap / rate),
  };
}

/** Starts (or resumes) a rotation and runs it to the end. */
export async function rotateKeks(deps: RotationDeps, options: RotationOptions = {}): Promise<RotationSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new VaultError('VALIDATION', 'batchSize: must be a whole number from 1 to 100000', { field: 'batchSize' });
  }
  let running = deps.rotations.running();
  const resumed = running !== undefined;
  if (running === undefined) {
    await startRotation(deps, options.reencrypt === true);
    running = deps.rotations.running();
    if (running === undefined) throw new Error('internal: rotation vanished after it started');
  }
  const rotation = running;
  if (!deps.keyring.has(rotation.toVersion)) await deps.loadKek(rotation.toVersion);
  const total = deps.rotations.remaining(rotation.toVersion);
  let cursor = rotation.cursor;
  let done = 0;
  let batches = 0;
  for (;;) {
    let outcome: { cursor: number; count: number } | null;
    try {
      outcome = await writeTransaction(deps.db, 'rewrapping data keys', () => {
        let count = 0;
        let last = cursor;
        if (rotation.reencrypt) {
          const page = deps.rotations.pageValues(cursor, rotation.toVersion, batchSize);
          if (page.length === 0) return null;
          let bytes = 0;
          for (const row of page) {
            if (count > 0 && bytes + row.plaintextBytes > REENCRYPT_BATCH_BYTES) break;
            if (reencryptRow(deps, row, rotation.toVersion)) count++;
            bytes += row.plaintextBytes;
            last = row.id;
          }
        } else {
          const page = deps.rotations.pageKeys(cursor, rotation.toVersion, batchSize);
          if (page.length === 0) return null;
          for (const row of page) {
            if (rewrapRow(deps, row, rotation.toVersion)) count++;
            last = row.id;
          }
        }
        deps.rotations.advance(rotation.id, last, count);
        return { cursor: last, count };
      });
    } catch (error) {
      if (error instanceof KekNotLoaded) {
        await deps.loadKek(error.version);
        continue;
      }
      throw error;
    }
    if (outcome === null) {
      // Everything after the cursor is done; finish unless something older slipped back (it cannot
      // through the vault: writers use the active KEK; this is a belt against tampering). The count
      // scans every record, so it runs outside the write lock, where it stalls no writer: writers
      // read the active KEK inside their own transaction, so no row on an old KEK can appear after it.
      if (deps.rotations.remaining(rotation.toVersion) > 0) {
        await writeTransaction(deps.db, 'restarting a rotation pass', () => {
          deps.rotations.advance(rotation.id, 0, 0);
        });
        cursor = 0;
        continue;
      }
      await writeTransaction(deps.db, 'finishing a rotation', () => {
        if (deps.rotations.running()?.id !== rotation.id) return; // another process finished it
        deps.rotations.finish(rotation.id, deps.now());
        deps.onFinish(rotation.toVersion, rotation.rewrapped + done, rotation.reencrypt);
      });
      break;
    }
    cursor = outcome.cursor;
    done += outcome.count;
    batches++;
    options.onProgress?.(done, total);
    await pauseBetweenBatches();
  }
  return { toVersion: rotation.toVersion, resumed, reencrypt: rotation.reencrypt, rewrapped: done, batches, durationMs: performance.now() - started };
}

/** Creates the next KEK (wrapped first: the provider may be remote) and makes it active. */
async function startRotation(deps: RotationDeps, reencrypt: boolean): Promise<void> {
  const version = deps.keks.nextVersion();
  const key = randomBytes(32);
  let wrapped: Uint8Array;
  try {
    wrapped = await deps.provider.wrap(key, kekAad(deps.vaultId, version));
  } catch (error) {
    key.fill(0);
    throw error;
  }
  const now = deps.now();
  const ok = await writeTransaction(deps.db, 'starting a rotation', () => {
    // Another process may have started one meanwhile: join it rather than start a second.
    if (deps.rotations.running() !== undefined || deps.keks.nextVersion() !== version) return false;
    const from = deps.keks.activeVersion();
    if (from === undefined) throw new VaultError('CORRUPT', 'the vault has no active key-encryption key');
    deps.keks.retire(from, now);
    deps.keks.insertActive(version, wrapped, now);
    deps.rotations.start(version, reencrypt, now);
    deps.onStart(version, from, reencrypt);
    return true;
  });
  if (ok) deps.keyring.add(version, new SecretBytes(key));
  else key.fill(0);
}

function binding(deps: RotationDeps, row: RotatableRow, dekId: Uint8Array = row.dekId): DekBinding {
  return { vaultId: deps.vaultId, subjectTag: row.subjectTag, category: row.category, dekId };
}

/** Inside a batch: the same data key, wrapped by the new KEK. The value is not touched. */
function rewrapRow(deps: RotationDeps, row: RotatableRow, toVersion: number): boolean {
  const b = binding(deps, row);
  const dek = unwrapDek(deps.keyring.get(row.kekVersion), row.wrappedDek, b, row.kekVersion);
  try {
    return deps.rotations.rewrap(row, toVersion, wrapDek(deps.keyring.get(toVersion), dek, b, toVersion));
  } finally {
    dek.wipe();
  }
}

/**
 * Inside a batch: a fresh data key under the new KEK, and the value re-sealed under it. Streams
 * are re-sealed chunk by chunk (each old chunk read alone), so memory stays at one chunk.
 */
function reencryptRow(deps: RotationDeps, row: ResealableRow, toVersion: number): boolean {
  const oldBinding = binding(deps, row);
  const oldDek = unwrapDek(deps.keyring.get(row.kekVersion), row.wrappedDek, oldBinding, row.kekVersion);
  const newDekId = newId(deps.now());
  const newBinding = binding(deps, row, newDekId);
  const newDek = generateDek();
  try {
    const wrapped = wrapDek(deps.keyring.get(toVersion), newDek, newBinding, toVersion);
    const oldAad = recordAad(oldBinding, row.format, row.writtenAt);
    const newAad = recordAad(newBinding, row.format, row.writtenAt);
    let body: Uint8Array;
    if (row.format === RECORD_FORMAT_SINGLE) {
      const plaintext = openBox(oldDek, row.body, oldAad, `${row.category} record`);
      try {
        body = seal(newDek, plaintext, newAad);
      } finally {
        plaintext.fill(0);
      }
    } else {
      if (row.body.length !== 25 || row.body[0] !== STREAM_BODY_VERSION) throw integrityError(`${row.category} record`);
      const opener = createStreamOpener(oldDek, row.body.subarray(1), oldAad, `${row.category} record`);
      const sealer = createStreamSealer(newDek, newAad);
      for (let idx = 0; idx < row.chunkCount; idx++) {
        const chunk = deps.rotations.chunk(row.dekId, idx);
        if (chunk === undefined) throw integrityError(`${row.category} record`);
        const plaintext = opener.pull(chunk);
        try {
          deps.rotations.insertChunk(newDekId, idx, sealer.push(plaintext, idx === row.chunkCount - 1));
        } finally {
          plaintext.fill(0);
        }
      }
      opener.finish();
      body = new Uint8Array(1 + sealer.header.length);
      body[0] = STREAM_BODY_VERSION;
      body.set(sealer.header, 1);
    }
    const changed = deps.rotations.reseal(row, newDekId, toVersion, wrapped, body);
    if (changed) deps.forgetDek(row.dekId);
    else deps.rotations.dropChunks(newDekId); // the value changed meanwhile: leave no orphan chunks
    return changed;
  } finally {
    oldDek.wipe();
    newDek.wipe();
  }
}

/** Destroys a retired KEK that wraps no data key (checked, not assumed). */
export async function destroyKek(deps: Pick<RotationDeps, 'db' | 'keks' | 'keyring' | 'now'>, version: number, onDestroy: () => void): Promise<void> {
  await writeTransaction(deps.db, 'destroying a key', () => {
    const kek = deps.keks.get(version);
    if (kek === undefined) throw new VaultError('NOT_FOUND', `key-encryption key v${version} does not exist`);
    if (kek.state === 'active') throw new VaultError('KEY_IN_USE', `v${version} is the active key-encryption key; rotate first`);
    if (kek.state === 'destroyed') throw new VaultError('CONFLICT', `key-encryption key v${version} is already destroyed`);
    if (deps.keks.inUse(version)) throw new VaultError('KEY_IN_USE', `key-encryption key v${version} still wraps data keys; finish a rotation first (\`childvault keys rotate\`)`);
    deps.keks.destroy(version, deps.now());
    onDestroy();
  });
  deps.keyring.forget(version);
}

