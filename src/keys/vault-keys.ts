/**
 * `vault.keys`: the operator's side of the key hierarchy — list KEK versions, rotate KEKs
 * (online, resumable, optionally re-encrypting), rotate the master key, destroy retired KEKs,
 * and tell which erasures a backup could still undo. Every operation is audited; none logs key bytes.
 */
import { z } from 'zod';
import type { AuditAction, AuditDetail, AuditRecord } from '../audit/entry.js';
import { parseOrThrow } from '../schema/zod-errors.js';
import { VaultError } from '../errors.js';
import type { AccessContext } from '../schema/access-context.js';
import { readTransaction, truncateWal, writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { KekRepository, KekState, KekUsage } from '../store/kek-repository.js';
import type { MetaRepository, VaultMetaRow } from '../store/meta-repository.js';
import type { ErasureSummary, RotationRepository } from '../store/rotation-repository.js';
import type { Keyring } from './keyring.js';
import type { MasterKeyProvider } from './master-key.js';
import { rotateMasterKey } from './master-rotation.js';
import { destroyKek, planRotation, rotateKeks, type RotationDeps, type RotationOptions, type RotationPlan, type RotationSummary } from './rotation.js';

const rotationOptionsSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(100_000).optional(),
  reencrypt: z.boolean().optional(),
  onProgress: z.custom<(done: number, total: number) => void>((v) => typeof v === 'function').optional(),
});

export interface KekInfo {
  readonly version: number;
  readonly state: KekState;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
  readonly destroyedAt: Date | null;
  /** Data keys this KEK wraps now. */
  readonly dataKeys: number;
}

/** A KEK as `keys.status()` and `vault.status()` show it. */
export function kekInfo(k: KekUsage): KekInfo {
  return {
    version: k.version,
    state: k.state,
    createdAt: new Date(k.createdAt),
    retiredAt: k.retiredAt === null ? null : new Date(k.retiredAt),
    destroyedAt: k.destroyedAt === null ? null : new Date(k.destroyedAt),
    dataKeys: k.dekCount,
  };
}

export interface KeysStatus {
  readonly keks: readonly KekInfo[];
  /** The rotation a crash interrupted, if any (`keys rotate` finishes it). */
  readonly rotationInProgress: { readonly toVersion: number; readonly reencrypt: boolean; readonly rewrapped: number; readonly startedAt: Date } | null;
  readonly erasures: ErasureSummary;
}

export interface VaultKeysDeps {
  readonly db: SqliteDatabase;
  readonly keks: KekRepository;
  readonly meta: MetaRepository;
  readonly rotations: RotationRepository;
  readonly keyring: Keyring;
  readonly vaultId: Uint8Array;
  readonly provider: () => MasterKeyProvider;
  readonly vaultMeta: () => VaultMetaRow;
  /** Switches the open vault to a new master key after a rotation. */
  readonly useMaster: (provider: MasterKeyProvider, meta: VaultMetaRow) => void;
  run<T>(ctx: AccessContext, action: AuditAction, fn: (c: { actor: string; role: string; purpose: string }) => Promise<T>): Promise<T>;
  readonly record: (c: { actor: string; role: string; purpose: string }, action: AuditAction, detail: AuditDetail | null) => AuditRecord;
  readonly append: (record: AuditRecord) => void;
  readonly now: () => number;
  readonly loadKek: (version: number) => Promise<void>;
  readonly forgetDek: (dekId: Uint8Array) => void;
}

export class VaultKeys {
  readonly #deps: VaultKeysDeps;

  /** @internal Created by the vault. */
  constructor(deps: VaultKeysDeps) {
    this.#deps = deps;
  }

  /** KEK versions, states and data-key counts; any rotation in progress; backup safety of erasures. */
  async status(ctx: AccessContext): Promise<KeysStatus> {
    return this.#deps.run(ctx, 'key.list', async (c) => {
      await writeTransaction(this.#deps.db, 'recording a key listing', () => {
        this.#deps.append(this.#deps.record(c, 'key.list', null));
      });
      return readTransaction(this.#deps.db, 'listing keys', () => this.#status());
    });
  }

  #status(): KeysStatus {
    const running = this.#deps.rotations.running();
    return {
      keks: this.#deps.keks.usage().map(kekInfo),
      rotationInProgress:
        running === undefined ? null : { toVersion: running.toVersion, reencrypt: running.reencrypt, rewrapped: running.rewrapped, startedAt: new Date(running.startedAt) },
      erasures: this.#deps.rotations.erasureSummary(),
    };
  }

  /** What `rotate` would do (a dry run): changes nothing but the audit entry. */
  async plan(options: { reencrypt?: boolean }, ctx: AccessContext): Promise<RotationPlan> {
    return this.#deps.run(ctx, 'key.rotate', async (c) => {
      const plan = readTransaction(this.#deps.db, 'planning a rotation', () => planRotation(this.#rotationDeps(c), options.reencrypt === true));
      await writeTransaction(this.#deps.db, 'recording a rotation plan', () => {
        this.#deps.append(this.#deps.record(c, 'key.rotate', { dryRun: true, toVersion: plan.toVersion, toRewrap: plan.toRewrap }));
      });
      return plan;
    });
  }

  /**
   * Creates a new active KEK and rewraps every data key to it (with `reencrypt`, also replaces each
   * data key and re-encrypts its value) — or finishes a rotation a crash interrupted.
   */
  async rotate(options: RotationOptions, ctx: AccessContext): Promise<RotationSummary> {
    return this.#deps.run(ctx, 'key.rotate', async (c) => rotateKeks(this.#rotationDeps(c), parseOrThrow(rotationOptionsSchema, options, 'options') as RotationOptions));
  }

  #rotationDeps(c: { actor: string; role: string; purpose: string }): RotationDeps {
    const d = this.#deps;
    return {
      db: d.db,
      keks: d.keks,
      rotations: d.rotations,
      keyring: d.keyring,
      provider: d.provider(),
      vaultId: d.vaultId,
      now: d.now,
      loadKek: d.loadKek,
      forgetDek: d.forgetDek,
      onStart: (toVersion, fromVersion, reencrypt) => {
        d.append(d.record(c, 'key.rotate', { phase: 'start', fromVersion, toVersion, reencrypt }));
      },
      onFinish: (toVersion, rewrapped, reencrypt) => {
        d.append(d.record(c, 'key.rotate', { phase: 'finish', toVersion, rewrapped, reencrypt }));
      },
    };
  }

  /**
   * Rewraps every KEK and vault key under `next` in one transaction. Refuses a new key equal to
   * the current one. Afterwards only `next` opens the vault; this vault keeps working with it.
   */
  async rotateMaster(next: MasterKeyProvider, ctx: AccessContext): Promise<void> {
    return this.#deps.run(ctx, 'key.rotate-master', async (c) => {
      if (typeof next !== 'object' || next === null || typeof next.wrap !== 'function' || typeof next.unwrap !== 'function') {
        throw new VaultError('VALIDATION', 'next: give a master-key provider', { field: 'next' });
      }
      const d = this.#deps;
      const previous = d.provider();
      const meta = await rotateMasterKey({ db: d.db, meta: d.meta, keks: d.keks, current: previous, vaultMeta: d.vaultMeta() }, next, () => {
        d.rotations.recordMasterRotation(d.now());
        d.append(d.record(c, 'key.rotate-master', { from: previous.id, to: next.id }));
      });
      d.useMaster(next, meta);
      previous.close?.();
    });
  }

  /** Destroys a retired KEK that wraps no data key; the active KEK, or one in use, is KEY_IN_USE. */
  async destroy(version: number, ctx: AccessContext): Promise<void> {
    return this.#deps.run(ctx, 'key.destroy', async (c) => {
      if (!Number.isInteger(version) || version < 1) throw new VaultError('VALIDATION', 'version: must be a KEK version number', { field: 'version' });
      const d = this.#deps;
      await destroyKek({ db: d.db, keks: d.keks, keyring: d.keyring, now: d.now }, version, () => {
        d.append(d.record(c, 'key.destroy', { version }));
      });
      truncateWal(d.db); // no page image of the destroyed key left in the -wal file
    });
  }
}
