/**
 * The vault facade. Each operation reads as its story — validate, decide, audit, crypto, store —
 * in one transaction, and holds no crypto primitives or SQL of its own.
 */
import { z } from 'zod';
import { isAccessCode, type AccessController, type AccessDecision } from './access/access-controller.js';
import { VaultApprovals } from './access/vault-approvals.js';
import { consentRecord, VaultConsents, type ConsentRecord } from './access/vault-consents.js';
import { applyView, narrowViews } from './access/views.js';
import type { AuditLog } from './audit/audit-log.js';
import { idList, MAX_LISTED_IDS, type AuditAction, type AuditDetail, type AuditRecord } from './audit/entry.js';
import { admitPending, foreignPendingRows, PENDING_PER_OPEN } from './audit/pending.js';
import { assertNoContactIn, type FreeTextField } from './guard/free-text.js';
import { VaultAudit } from './audit/vault-audit.js';
import { openRecord, recordFormatFor, sealRecord, CHUNK_BYTES, RECORD_FORMAT_STREAM } from './crypto/record-cipher.js';
import type { SecretBytes } from './crypto/secret-bytes.js';
import { isVaultError, VaultError } from './errors.js';
import { newId } from './crypto/random.js';
import { idToUuid, toHex } from './format/ids.js';
import { assertValueBounds, encodeFrame, type EncodedFrame } from './format/value-codec.js';
import { BlindIndexMatcher, blindEntries, type BlindEntry } from './guard/blind-index.js';
import { canaryValues, type CanaryValues } from './guard/canary-values.js';
import { DigestFilter } from './guard/digest-filter.js';
import { Sensitive } from './guard/sensitive.js';
import { VaultGuard } from './vault-guard.js';
import { DekCache, generateDek, recordAad, unwrapDek, wrapDek, type DekBinding } from './keys/data-keys.js';
import { KekNotLoaded, type Keyring } from './keys/keyring.js';
import type { MasterKeyProvider } from './keys/master-key.js';
import { subjectTag } from './keys/subject-index.js';
import { accessContextSchema, type AccessContext } from './schema/access-context.js';
import { DAY_MS, type BuiltInCategories, type CategoryMap } from './schema/categories.js';
import { subjectIdSchema } from './schema/subject.js';
import { parseOrThrow, safeKey } from './schema/zod-errors.js';
import { policyDigest, VIEW_APPLIES_TO, VIEWS, type DataAction, type ManagementAction, type Protection, type View } from './schema/policy.js';
import type { AccessRepository } from './store/access-repository.js';
import type { AuditRepository } from './store/audit-repository.js';
import type { GuardRepository } from './store/guard-repository.js';
import { onRollback, readTransaction, truncateWal, writeTransaction, writeTransactionNow, type Durability, type SqliteDatabase } from './store/database.js';
import type { KekRepository } from './store/kek-repository.js';
import type { MetaRepository, VaultMetaRow } from './store/meta-repository.js';
import { schemaVersion } from './store/migrator.js';
import type { RecordRepository, RecordRow, StoredValueRow } from './store/record-repository.js';
import type { RowAuthenticator } from './store/rows.js';
import type { ErasureSummary, RotationRepository } from './store/rotation-repository.js';
import { kekInfo, VaultKeys, type KekInfo } from './keys/vault-keys.js';
import { VaultRetention } from './retention.js';


export type CategoryName<C extends CategoryMap> = keyof C & string;
/** The value type of category `K` (what `get` reveals). */
export type CategoryValue<C extends CategoryMap, K extends keyof C> = z.output<C[K]['schema']>;
/** What `put` accepts for category `K`. */
export type CategoryInput<C extends CategoryMap, K extends keyof C> = z.input<C[K]['schema']>;
/** Values for `put`: any subset of the vault's categories. */
export type PutValues<C extends CategoryMap> = { readonly [K in CategoryName<C>]?: CategoryInput<C, K> };
/** What `get` returns: the categories asked for that hold a current value. */
export type GetResult<C extends CategoryMap, K extends CategoryName<C>> = { [P in K]?: Sensitive<CategoryValue<C, P>> };

export interface GetOptions<K extends string> {
  /**
   * A narrower view than the grant allows, per category (`presence` to learn only that a value
   * exists, `coarse` for a location, `masked` for a contact). The narrower of this and the grant's
   * view is served; a view that does not apply to the category is refused.
   */
  readonly views?: { readonly [P in K]?: View };
}

export interface PutManyItem<C extends CategoryMap> {
  readonly subject: string;
  readonly values: PutValues<C>;
}

export interface PutManyOptions {
  /** The audit action of the entries (`put`, or `import` for loads from a legacy store). */
  readonly action?: 'put' | 'import';
}

export interface PutReceipt {
  readonly categories: readonly string[];
  readonly writtenAt: Date;
  /** When each written value expires (its category's retention from now). */
  readonly expiresAt: Readonly<Record<string, Date>>;
}

export interface EraseOptions<C extends CategoryMap> {
  /** Erase only these categories (default: everything held about the subject). */
  readonly categories?: readonly CategoryName<C>[];
}

export interface EraseReceipt {
  /** Categories whose value and data key were destroyed. */
  readonly erased: readonly string[];
  readonly erasedAt: Date;
  /**
   * True when the whole subject was erased and it had an audit pseudonym key, now destroyed: its
   * past entries no longer link to its id. False for a category erase, and for a subject the vault
   * had never seen (or had erased before and not seen since).
   */
  readonly pseudonymDestroyed: boolean;
  /**
   * False when the vault held nothing about the subject — no value (of these categories), consent,
   * approval scope or audit pseudonym: the erase is recorded and changed nothing else.
   */
  readonly found: boolean;
  /** True when the write-ahead log was truncated too (no page image of the erased rows left in it). */
  readonly walCleared: boolean;
}

export interface VaultStatus {
  readonly vaultId: string;
  readonly formatVersion: number;
  readonly schemaVersion: string;
  readonly createdAt: Date;
  readonly masterKeyProvider: string;
  readonly durability: Durability;
  /**
   * Per category: values held (and their size), not counting `expired` ones — past retention,
   * unreadable, and erased at the next retention sweep.
   */
  readonly categories: readonly { name: string; retentionDays: number; values: number; plaintextBytes: number; expired: number }[];
  readonly keks: readonly KekInfo[];
  readonly audit: { readonly entries: number; readonly lastCheckpoint: number | null };
  /** A KEK rotation a crash interrupted (`keys rotate` finishes it), or null. */
  readonly rotationInProgress: { readonly toVersion: number; readonly rewrapped: number } | null;
  /** Erasures a backup taken before them could still undo, until their KEKs are destroyed. */
  readonly erasures: ErasureSummary;
}

/** Who opened the vault, for the audit log. */
export interface OpenerContext {
  readonly actor: string;
  readonly role?: string;
  readonly purpose?: string;
}

const putManyOptionsSchema = z.strictObject({ action: z.enum(['put', 'import']).optional() });
const eraseOptionsSchema = z.strictObject({ categories: z.array(z.string()).optional() });
const getOptionsSchema = z.strictObject({ views: z.record(z.string(), z.enum(VIEWS)).optional() });
const canaryCountSchema = z.number().int().min(1).max(1000);
const canaryOptionsSchema = z.strictObject({ emailDomain: z.string().regex(/^(?=.{4,100}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$/, 'must be a lower-case domain name such as canary.example.com').optional() });

export interface CanaryOptions {
  /**
   * Canary e-mail addresses at this domain (one you control) instead of common webmail domains:
   * a random webmail address could be a real adult's and raise a false alarm.
   */
  readonly emailDomain?: string;
}
export interface CanaryReceipt {
  readonly planted: number;
  /**
   * The canaries' subject ids: register them as accounts where real children's accounts live, so
   * that any flow that copies children's data out (a bulk export, a debug dump) carries them too.
   */
  readonly subjects: readonly string[];
  readonly plantedAt: Date;
  /** Canaries in the vault now (planted ones whose values have not expired). */
  readonly total: number;
}

/** A validated access context. */
type Context = z.output<typeof accessContextSchema>;

interface Repositories {
  readonly meta: MetaRepository;
  readonly keks: KekRepository;
  readonly records: RecordRepository;
  readonly audit: AuditRepository;
  readonly access: AccessRepository;
  readonly rotations: RotationRepository;
  readonly guard: GuardRepository;
}

/** What `exportSubject` returns: everything held about the child, for a guardian's request. */
export interface SubjectExport {
  readonly exportedAt: Date;
  readonly values: Readonly<Record<string, Sensitive<unknown>>>;
  readonly consents: readonly ConsentRecord[];
  readonly protections: Readonly<Record<Protection, boolean>>;
}

/** A value validated and framed, ready to seal. */
interface PreparedValue {
  readonly category: string;
  readonly frame: EncodedFrame;
  /** Its blind-index digests (contact fields, face/voice blobs). */
  readonly index: readonly BlindEntry[];
}

/** What a failing operation had learnt when it failed, for its `error` audit entry. */
interface Attempt {
  tag: Uint8Array | null;
  categories: readonly string[];
  /** Where in a batch the operation failed. */
  detail?: AuditDetail;
}


/** Frame heads hold plaintext JSON: zero them once the values are sealed (or refused). */
function wipeFrames(items: readonly { values: readonly PreparedValue[] }[]): void {
  for (const item of items) for (const value of item.values) value.frame.head.fill(0);
}

/**
 * Proof that a caller is `openVault`: `Vault.open` refuses anyone else, since it skips the checks
 * of the options, the master key and the file that `openVault` makes. Not exported from the package.
 */
export const VAULT_TOKEN: unique symbol = Symbol('childvault/openVault');

interface VaultInit<C extends CategoryMap> {
  readonly db: SqliteDatabase;
  readonly repos: Repositories;
  readonly categories: C;
  readonly meta: VaultMetaRow;
  readonly keyring: Keyring;
  /** The key of every row MAC (wiped on close), and the authenticator made with it. */
  readonly integrityKey: SecretBytes;
  readonly rows: RowAuthenticator;
  /** `audit_pending` rows the opener chose to discard (openVault's `discardPendingAudit`). */
  readonly discardPendingAudit: readonly number[];
  readonly subjectIndexKey: SecretBytes;
  readonly blindIndexKey: SecretBytes;
  readonly audit: AuditLog;
  /** Null when opened without a policy: data operations are then refused. */
  readonly access: AccessController | null;
  readonly provider: MasterKeyProvider;
  readonly dekCacheSize: number;
  readonly clock: () => Date;
  readonly durability: Durability;
  readonly opener: Required<OpenerContext>;
  readonly created: boolean;
}

/**
 * An open vault. Get one from `openVault`; close it when done (keys are wiped on close). Every
 * call is recorded in the audit log in the same transaction as its effect.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: 'pool.db', masterKey: keyFile('master.key'), create: true });
 * const ctx = { actor: 'svc:profile', role: 'service', purpose: 'account' };
 * await vault.put('u:1001', { location: { lat: 30.27, lon: 120.15, capturedAt: new Date().toISOString() } }, ctx);
 * const { location } = await vault.get('u:1001', ['location'], ctx);
 * console.log(location);            // [Sensitive location: redacted]
 * useForPurpose(location?.reveal());
 * await vault.close();
 * ```
 */
export class Vault<C extends CategoryMap = BuiltInCategories> {
  readonly #db: SqliteDatabase;
  readonly #repos: Repositories;
  readonly #categories: C;
  #meta: VaultMetaRow;
  readonly #keyring: Keyring;
  readonly #subjectIndexKey: SecretBytes;
  readonly #blindIndexKey: SecretBytes;
  readonly #integrityKey: SecretBytes;
  #matcher: BlindIndexMatcher | null = null;
  #digestFilter: DigestFilter | null = null;
  readonly #log: AuditLog;
  readonly #access: AccessController | null;
  #provider: MasterKeyProvider;
  readonly #dekCache: DekCache;
  readonly #clock: () => Date;
  readonly #durability: Durability;
  /** Subject id → tag. A pure memo (a tag never changes), bounded by clearing. */
  readonly #tags = new Map<string, Uint8Array>();
  #closed = false;

  /** The audit log: export, verify, report, checkpoints. */
  readonly audit: VaultAudit;
  /** Guardian consents: grant, withdraw, list. */
  readonly consent: VaultConsents;
  /** Officer approvals of staff access: create, revoke, list. */
  readonly approvals: VaultApprovals;
  /** Key lifecycle: KEK rotation (online, resumable), master-key rotation, destruction. */
  readonly keys: VaultKeys;
  /** Retention sweeps. */
  readonly retention: VaultRetention;
  /** Leak guards for the service's other channels: deep checks and a guarded SQLite wrapper. */
  readonly guard: VaultGuard;
  /** Canaries: fake children whose values, found anywhere else, prove a leak. */
  readonly canaries: { plant(count: number, ctx: AccessContext, options?: CanaryOptions): Promise<CanaryReceipt>; count(): number };

  private constructor(init: VaultInit<C>) {
    this.#db = init.db;
    this.#repos = init.repos;
    this.#categories = init.categories;
    this.#meta = init.meta;
    this.#keyring = init.keyring;
    this.#subjectIndexKey = init.subjectIndexKey;
    this.#blindIndexKey = init.blindIndexKey;
    this.#integrityKey = init.integrityKey;
    this.#log = init.audit;
    this.#access = init.access;
    this.#provider = init.provider;
    this.#dekCache = new DekCache(init.dekCacheSize);
    // A checkpoint signed in a transaction that rolled back never existed.
    onRollback(init.db, () => {
      init.audit.forgetCheckpoint();
      init.access?.onRollback();
    });
    this.#clock = init.clock;
    this.#durability = init.durability;
    this.audit = new VaultAudit({
      db: init.db,
      repo: init.repos.audit,
      log: init.audit,
      rows: init.rows,
      integrityKey: init.integrityKey,
      vaultId: init.meta.vaultId,
      run: (ctx, action, fn) => this.#runManaged(ctx, action, 'audit', (c) => fn(c, (detail) => this.#record(c, action, { detail }))),
      now: () => this.#now(),
      pseudonymOf: (subject) => this.#log.pseudonym(this.#tagOf(parseOrThrow(subjectIdSchema, subject, 'subject')), false),
    });
    const shared = {
      db: init.db,
      repo: init.repos.access,
      controller: init.access,
      run: <T>(ctx: AccessContext, action: AuditAction, fn: (c: Context, attempt: Attempt) => Promise<T>) => this.#run(ctx, action, fn),
      append: (record: AuditRecord) => {
        this.#log.append(record);
      },
      tagOf: (subject: string) => this.#tagOf(subject),
      now: () => this.#now(),
    };
    this.consent = new VaultConsents({
      ...shared,
      record: (c, action, what) => this.#record(c, action, what),
      eraseCategories: (tag, categories) => this.#eraseInTransaction(tag, categories, 'consent-withdrawal'),
    });
    this.approvals = new VaultApprovals({ ...shared, record: (c, action, what) => this.#record(c, action, what), checkFreeText: (fields) => { this.#checkFreeText(fields); } });
    const admin = {
      db: init.db,
      record: (c: Context, action: AuditAction, detail: AuditDetail | null) => this.#record(c, action, { detail }),
      append: (record: AuditRecord) => {
        this.#log.append(record);
      },
      now: () => this.#now(),
      forgetDek: (dekId: Uint8Array) => {
        this.#dekCache.delete(toHex(dekId));
      },
    };
    this.keys = new VaultKeys({
      ...admin,
      run: (ctx, action, fn) => this.#runManaged(ctx, action, 'keys', (c) => fn(c)),
      keks: init.repos.keks,
      meta: init.repos.meta,
      rotations: init.repos.rotations,
      keyring: init.keyring,
      vaultId: init.meta.vaultId,
      provider: () => this.#provider,
      vaultMeta: () => this.#meta,
      useMaster: (provider, meta) => {
        this.#provider = provider;
        this.#meta = meta;
        this.#keyring.useProvider(provider);
      },
      loadKek: (version) => this.#loadKek(version),
    });
    this.guard = new VaultGuard({
      ...admin,
      run: (ctx, action, fn) => this.#runManaged(ctx, action, 'guard', (c) => fn(c)),
      matcher: () => this.#leakMatcher(),
      opener: init.opener,
    });
    this.canaries = {
      plant: (count, ctx, options) => this.#plantCanaries(count, ctx, options ?? {}),
      count: () => {
        this.#ensureOpen();
        return this.#repos.guard.canaries();
      },
    };
    this.retention = new VaultRetention({
      ...admin,
      run: (ctx, action, fn) => this.#runManaged(ctx, action, 'retention', (c) => fn(c)),
      records: init.repos.records,
      rotations: init.repos.rotations,
      retentionDays: (c) => (Object.hasOwn(this.#categories, c) ? this.#retentionDays(c) : undefined),
    });
  }

  /** @internal Used by `openVault` only (it passes VAULT_TOKEN): builds the vault and records the opening. */
  static async open<C extends CategoryMap>(token: typeof VAULT_TOKEN, init: VaultInit<C>): Promise<Vault<C>> {
    if (token !== VAULT_TOKEN) throw new VaultError('USAGE', 'open a vault with openVault()');
    const vault = new Vault(init);
    const now = vault.#now();
    const policy = init.access === null ? 'none' : policyDigest(init.access.policy);
    vault.#checkContext(init.opener);
    try {
      await writeTransaction(init.db, 'recording the opening', () => {
        vault.#admitPending(init.opener, init.discardPendingAudit, now);
        vault.#log.append(vault.#record(init.opener, 'open', { detail: { policy, ...(init.created ? { created: true } : {}) } }, now));
      });
    } catch (error) {
      // A log someone tampered with refuses new entries, so every operation fails until it is
      // investigated — but the vault must still open for `audit verify` to say where it broke.
      const field = isVaultError(error, 'INTEGRITY') ? (error.field ?? '') : '';
      if (!['audit_log', 'audit_checkpoints', 'audit_anchor'].some((table) => field.startsWith(table))) throw error;
    }
    return vault;
  }

  /**
   * Inside the opening's transaction: wrong-key attempts since the last open could not be signed
   * then; they enter the chain now, as unverified claims (audit/pending.ts). Rows the opener chose
   * to discard are deleted, each discard recorded.
   */
  #admitPending(opener: Required<OpenerContext>, discard: readonly number[], now: number): void {
    const repo = this.#repos.audit;
    const waiting = repo.pending(PENDING_PER_OPEN);
    const unknown = discard.find((id) => !waiting.some((p) => p.id === id));
    if (unknown !== undefined) throw new VaultError('NOT_FOUND', `options.discardPendingAudit: audit_pending row ${unknown} is not waiting`, { field: 'options.discardPendingAudit' });
    const foreign: { id: number; why: string }[] = [];
    for (const row of waiting) {
      if (discard.includes(row.id)) {
        repo.deletePending(row.id);
        this.#log.append(this.#record(opener, 'audit.discard-pending', { detail: { row: row.id } }, now));
        continue;
      }
      const admitted = admitPending(row, now);
      if ('why' in admitted) {
        foreign.push({ id: row.id, why: admitted.why });
        continue;
      }
      const claim = admitted.claim;
      try {
        this.#checkContext(claim); // a claim's names go into the log for good, like any caller's
      } catch (error) {
        if (!isVaultError(error)) throw error;
        foreign.push({ id: row.id, why: `field ${error.field ?? '?'}` });
        continue;
      }
      repo.deletePending(row.id);
      const detail = { unverified: true, claimedAt: new Date(claim.claimedAt).toISOString() };
      this.#log.append(this.#record(claim, 'open', { outcome: 'error', reason: 'WRONG_MASTER_KEY', detail }, now));
    }
    // Nothing is taken while any row is foreign: the officer sees them all, in one message.
    if (foreign.length > 0) throw foreignPendingRows(foreign.map((f) => f.id), foreign[0]?.why ?? '');
  }

  /** The vault's id (a UUID), as shown by `childvault status`. */
  get id(): string {
    return idToUuid(this.#meta.vaultId);
  }

  /** Names of the categories this vault accepts. */
  get categoryNames(): readonly CategoryName<C>[] {
    return Object.keys(this.#categories);
  }

  /**
   * Stores (replacing) values of one subject. Every category is validated against its schema
   * first; all are written in one transaction with their audit entry, each under a fresh data key
   * (the old key is destroyed with the old value).
   */
  async put(subject: string, values: PutValues<C>, ctx: AccessContext): Promise<PutReceipt> {
    return this.#run(ctx, 'put', async (c, attempt) => {
      const item = this.#prepareItem(subject, values, 'subject', 'values', attempt);
      const now = this.#now();
      try {
        await this.#inTransaction('write', 'storing values', () => {
          const categories = item.values.map((v) => v.category);
          const decision = this.#decide(c, 'put', item.tag, categories, now);
          const kekVersion = this.#activeKekVersion();
          this.#log.append(this.#record(c, 'put', { tag: item.tag, categories, decision }, now));
          for (const value of item.values) this.#storeValue(item.tag, value, kekVersion, now, true);
        });
      } finally {
        wipeFrames([item]);
      }
      return this.#receipt(item.values, now);
    });
  }

  /**
   * Stores values of many subjects in one transaction: all or nothing, one audit entry per item.
   * Every item is validated before anything is written; errors name the item
   * (`items[3].values.location.lat`).
   */
  async putMany(items: readonly PutManyItem<C>[], ctx: AccessContext, options: PutManyOptions = {}): Promise<PutReceipt[]> {
    // Only write actions: anything else would take a decision path that skips purpose and consent.
    const action = parseOrThrow(putManyOptionsSchema, options, 'options').action ?? 'put';
    return this.#run(ctx, action, async (c, attempt) => {
      const list: unknown = items;
      if (!Array.isArray(list) || list.length === 0) throw new VaultError('VALIDATION', 'items: give a non-empty array', { field: 'items' });
      const prepared = list.map((item: unknown, i) => {
        if (typeof item !== 'object' || item === null) throw new VaultError('VALIDATION', `items[${i}]: expected an object`, { field: `items[${i}]` });
        const { subject, values } = item as { subject?: unknown; values?: unknown };
        return this.#prepareItem(subject, values, `items[${i}].subject`, `items[${i}].values`, attempt);
      });
      attempt.tag = null; // a batch failure is not one subject's
      const now = this.#now();
      try {
        await this.#inTransaction('write', 'storing values', () => {
          const kekVersion = this.#activeKekVersion();
          for (const item of prepared) {
            const categories = item.values.map((v) => v.category);
            const decision = this.#decide(c, action, item.tag, categories, now);
            this.#log.append(this.#record(c, action, { tag: item.tag, categories, decision }, now));
            // Bulk writes do not fill the key cache: it would evict the keys that reads need.
            for (const value of item.values) this.#storeValue(item.tag, value, kekVersion, now, false);
          }
        });
      } finally {
        wipeFrames(prepared);
      }
      return prepared.map((item) => this.#receipt(item.values, now));
    });
  }

  /** Checks a subject id and values exactly as `put` would, without writing (or auditing). */
  validate(subject: string, values: PutValues<C>): void {
    this.#ensureOpen();
    wipeFrames([this.#prepareItem(subject, values, 'subject', 'values', { tag: null, categories: [] }, false)]);
  }

  /**
   * Reads current values of one subject. Categories without a value (never written, erased or
   * past retention) are absent from the result. Each value comes back as `Sensitive`. The read is
   * audited in the same transaction, and values are decrypted inside it: if the entry cannot be
   * committed, nothing is returned.
   */
  async get<K extends CategoryName<C>>(subject: string, categories: readonly K[], ctx: AccessContext, options: GetOptions<K> = {}): Promise<GetResult<C, K>> {
    return this.#run(ctx, 'get', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      attempt.tag = this.#tagOf(id);
      const tag = attempt.tag;
      const wanted = this.#parseCategoryList(categories, 'categories');
      attempt.categories = wanted;
      const asked = this.#parseViews(parseOrThrow(getOptionsSchema, options, 'options').views, wanted);
      const now = this.#now();
      return this.#inTransaction('write', 'reading values', () => this.#readSubject(c, tag, wanted, now, 'get', asked) as GetResult<C, K>);
    });
  }

  /**
   * Reads several subjects in one transaction — one commit for the batch, one audit entry per
   * subject — for services that read many children at once (a class roster, a moderation queue).
   * Results are in request order.
   */
  async getMany<K extends CategoryName<C>>(requests: readonly { subject: string; categories: readonly K[] }[], ctx: AccessContext): Promise<GetResult<C, K>[]> {
    return this.#run(ctx, 'get', async (c, attempt) => {
      const list: unknown = requests;
      if (!Array.isArray(list) || list.length === 0) throw new VaultError('VALIDATION', 'requests: give a non-empty array', { field: 'requests' });
      const parsed = list.map((r: unknown, i) => {
        const { subject, categories } = (typeof r === 'object' && r !== null ? r : {}) as { subject?: unknown; categories?: unknown };
        const id = parseOrThrow(subjectIdSchema, subject, `requests[${i}].subject`);
        return { tag: this.#tagOf(id), wanted: this.#parseCategoryList(categories, `requests[${i}].categories`) };
      });
      const now = this.#now();
      return this.#inTransaction('write', 'reading values', () =>
        parsed.map((r, i) => {
          // A refusal is recorded against the request refused (the batch's entries rolled back).
          attempt.tag = r.tag;
          attempt.categories = r.wanted;
          attempt.detail = { item: i, items: parsed.length };
          return this.#readSubject(c, r.tag, r.wanted, now) as GetResult<C, K>;
        }),
      );
    });
  }

  /**
   * Erases a subject (or some of its categories): the data keys are destroyed (crypto-shredding)
   * and the ciphertext deleted, with its pages zeroed (secure_delete). Erasing the whole subject
   * also destroys its audit pseudonym key: its entries stay, unlinkable to the id.
   */
  async erase(subject: string, ctx: AccessContext, options: EraseOptions<C> = {}): Promise<EraseReceipt> {
    return this.#run(ctx, 'erase', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      attempt.tag = this.#tagOf(id);
      const tag = attempt.tag;
      const o = parseOrThrow(eraseOptionsSchema, options, 'options');
      const categories = o.categories === undefined ? undefined : this.#parseCategoryList(o.categories, 'options.categories');
      attempt.categories = categories ?? [];
      const now = this.#now();
      const whole = categories === undefined;
      const done = await this.#inTransaction('write', 'erasing values', () => {
        this.#requireAccess().decideManagement('erase', c.role, c.purpose);
        // Before the erase entry, which gives a subject never seen a pseudonym key of its own.
        const hadPseudonym = this.#log.pseudonym(tag, false) !== null;
        const names = this.#eraseInTransaction(tag, categories, 'erase');
        this.#log.append(this.#record(c, 'erase', { tag, categories: names, detail: { scope: whole ? 'subject' : 'categories' } }, now));
        let forgotten = 0;
        if (whole) {
          // Nothing may link the child to the vault any more: consents, approval scopes, pseudonym.
          forgotten = this.#repos.access.forgetSubject(tag);
          this.#log.forgetSubject(tag);
        }
        return { names, pseudonymDestroyed: whole && hadPseudonym, found: names.length > 0 || hadPseudonym || forgotten > 0 };
      });
      return { erased: done.names, erasedAt: new Date(now), pseudonymDestroyed: done.pseudonymDestroyed, found: done.found, walCleared: truncateWal(this.#db) };
    });
  }

  /**
   * A copy of everything held about the child, for a guardian's request (PIPL art. 45): every
   * value the purpose covers (in the grant's views), the consent records and the protections.
   */
  async exportSubject(subject: string, ctx: AccessContext): Promise<SubjectExport> {
    return this.#run(ctx, 'export', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      const tag = this.#tagOf(id);
      attempt.tag = tag;
      const purpose = this.#access?.policy.purposes.get(c.purpose);
      const categories = purpose === undefined ? this.categoryNames : [...purpose.categories.keys()].filter((k) => Object.hasOwn(this.#categories, k));
      attempt.categories = categories;
      const now = this.#now();
      const access = this.#requireAccess();
      return this.#inTransaction('write', 'exporting a subject', () => ({
        exportedAt: new Date(now),
        values: this.#readSubject(c, tag, categories, now, 'export'),
        consents: this.#repos.access.consents(tag).map((row) => consentRecord(row, access, now)),
        protections: access.protections(tag, now),
      }));
    });
  }

  /**
   * The protective defaults for a child (the nine of the court case, plus no algorithmic
   * distribution and no personalised recommendation): each is `true` (on) until an active
   * guardian consent covers the purpose the policy maps it to. Derived from consents, never stored.
   */
  async protections(subject: string, ctx: AccessContext): Promise<Record<Protection, boolean>> {
    return this.#run(ctx, 'protections', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      const tag = this.#tagOf(id);
      attempt.tag = tag;
      const access = this.#requireAccess();
      access.decideProtections(c.role, c.purpose);
      const now = this.#now();
      return await writeTransaction(this.#db, 'reading protections', () => {
        this.#log.append(this.#record(c, 'protections', { tag }, now));
        return access.protections(tag, now);
      });
    });
  }

  /** Identity, schema, counts per category, key versions and the audit head. Reveals no values. */
  async status(ctx: AccessContext): Promise<VaultStatus> {
    return this.#runManaged(ctx, 'status', 'status', async (c) => {
      const now = this.#now();
      return await writeTransaction(this.#db, 'reading status', () => {
        this.#log.append(this.#record(c, 'status', {}, now));
        const cutoffs = new Map(Object.keys(this.#categories).map((name) => [name, now - this.#retentionDays(name) * DAY_MS]));
        const counts = new Map(this.#repos.records.countByCategory(cutoffs).map((row) => [row.category, row]));
        return {
          vaultId: this.id,
          formatVersion: this.#meta.formatVersion,
          schemaVersion: schemaVersion(this.#db) ?? 'none',
          createdAt: new Date(this.#meta.createdAt),
          masterKeyProvider: this.#meta.masterProvider,
          durability: this.#durability,
          categories: Object.keys(this.#categories).map((name) => ({
            name,
            retentionDays: this.#retentionDays(name),
            values: (counts.get(name)?.count ?? 0) - (counts.get(name)?.expired ?? 0),
            plaintextBytes: (counts.get(name)?.bytes ?? 0) - (counts.get(name)?.expiredBytes ?? 0),
            expired: counts.get(name)?.expired ?? 0,
          })),
          keks: this.#repos.keks.usage().map(kekInfo),
          audit: { entries: this.#repos.audit.head()?.seq ?? 0, lastCheckpoint: this.#repos.audit.lastCheckpoint()?.seq ?? null },
          rotationInProgress: ((r) => (r === undefined ? null : { toVersion: r.toVersion, rewrapped: r.rewrapped }))(this.#repos.rotations.running()),
          erasures: this.#repos.rotations.erasureSummary(),
        };
      });
    });
  }

  /**
   * Signs a checkpoint over the entries this process left unsigned (shortening the window in which
   * the log's tail could be cut without a trace), then wipes every key held in memory and closes
   * the file. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await writeTransaction(this.#db, 'signing a checkpoint at close', () => this.#log.checkpoint(this.#now()));
    } catch {
      // Closing must not fail: a log that refuses to be signed (tampered, read-only, busy) reports
      // that to the next operation and to `audit verify`.
    }
    this.#dekCache.clear();
    this.#tags.clear();
    this.#keyring.wipe();
    this.#subjectIndexKey.wipe();
    this.#blindIndexKey.wipe();
    this.#integrityKey.wipe();
    this.#log.wipe();
    this.#provider.close?.();
    this.#db.close();
  }

  // ---- steps -------------------------------------------------------------------------------

  /**
   * Runs an operation: validates the access context (a malformed one is not attributable, so it
   * is refused without an entry), then records any VaultError the operation ends with as an
   * `error` entry in its own transaction — the operation's own transaction was rolled back.
   */
  async #run<T>(ctx: AccessContext, action: AuditAction, fn: (c: Context, attempt: Attempt) => Promise<T>): Promise<T> {
    this.#ensureOpen();
    const c = parseOrThrow(accessContextSchema, ctx, 'ctx');
    this.#checkContext(c);
    const attempt: Attempt = { tag: null, categories: [] };
    try {
      return await fn(c, attempt);
    } catch (error) {
      if (!isVaultError(error)) await this.#recordFailure(c, action, attempt, 'INTERNAL');
      else if (error.code !== 'CLOSED') {
        // A row that failed authentication is named in the entry (`consents:cns_…`), for the investigation.
        if (error.code === 'INTEGRITY' && error.field !== undefined) attempt.detail = { ...attempt.detail, tampered: error.field };
        await this.#recordFailure(c, action, attempt, error.code);
      }
      throw error;
    }
  }

  /**
   * Inside a write transaction: decides the read, decrypts the subject's current values in the
   * views the grant allows (a `presence` view is never decrypted) and records the read.
   */
  #readSubject(c: Context, tag: Uint8Array, wanted: readonly string[], now: number, action: 'get' | 'export' = 'get', asked?: ReadonlyMap<string, View>): Record<string, Sensitive<unknown>> {
    const rows = new Map<string, RecordRow>();
    for (const category of wanted) {
      const row = this.#repos.records.find(tag, category);
      if (row !== undefined && !this.#expired(category, row.writtenAt, now)) rows.set(category, row);
    }
    const granted = this.#decide(c, action, tag, wanted, now, rows.size === 0);
    const decision = asked === undefined ? granted : { ...granted, views: narrowViews(granted.views, asked) };
    const precision = this.#access?.policy.coarsePrecisionDegrees ?? 0.1;
    const result: Record<string, Sensitive<unknown>> = {};
    for (const [category, row] of rows) {
      const view = decision.views.get(category) ?? 'presence';
      result[category] =
        view === 'presence' ? new Sensitive(undefined, category, view) : new Sensitive(applyView(category, view, this.#openValue(tag, row), precision), category, view);
    }
    // No legitimate flow reads a canary: the entry says so, for `audit report` and alerting.
    const canary = this.#repos.guard.isCanary(tag);
    this.#log.append(this.#record(c, action, { tag, categories: wanted, decision, detail: { returned: Object.keys(result).length, ...(canary ? { canary: true } : {}) } }, now));
    return result;
  }

  /** The blind-index matcher behind `guard` and `childvault scan`; refuses once closed. */
  #leakMatcher(): BlindIndexMatcher {
    this.#ensureOpen();
    if (this.#matcher === null) {
      const filter = new DigestFilter(this.#repos.guard);
      this.#digestFilter = filter;
      this.#matcher = new BlindIndexMatcher(this.#blindIndexKey, (field, digest) => (filter.mayContain(digest) ? this.#repos.guard.lookup(field, digest) : undefined));
    }
    return this.#matcher;
  }

  /** Fake values under a subject id no child (or canary) has. */
  #freshCanary(now: number, emailDomain: string | undefined): CanaryValues {
    for (;;) {
      const fake = canaryValues(new Date(now), emailDomain);
      if (!this.#repos.guard.subjectInUse(this.#tagOf(fake.subject))) return fake;
    }
  }

  /** Stores `count` canaries (fake children with a contact and a face photo) in one transaction. */
  async #plantCanaries(count: number, ctx: AccessContext, options: CanaryOptions): Promise<CanaryReceipt> {
    return this.#runManaged(ctx, 'canary.plant', 'guard', async (c) => {
      const n = parseOrThrow(canaryCountSchema, count, 'count');
      const { emailDomain } = parseOrThrow(canaryOptionsSchema, options, 'options');
      const now = this.#now();
      const fakes = Array.from({ length: n }, () => this.#freshCanary(now, emailDomain));
      const prepared = fakes.map((fake, i) =>
        this.#prepareItem(fake.subject, { contact: fake.contact, face: fake.face }, `canaries[${i}].subject`, `canaries[${i}].values`, { tag: null, categories: [] }),
      );
      try {
        await this.#inTransaction('write', 'planting canaries', () => {
          const kekVersion = this.#activeKekVersion();
          for (const item of prepared) {
            // Another process may have taken the id since it was drawn: never overwrite a child.
            if (this.#repos.guard.subjectInUse(item.tag)) throw new VaultError('CONFLICT', 'a canary id was taken meanwhile; plant again');
            this.#repos.guard.plantCanary(item.tag, now);
            for (const value of item.values) this.#storeValue(item.tag, value, kekVersion, now, false, true);
          }
          // Counts only: an entry per canary would point at them.
          this.#log.append(this.#record(c, 'canary.plant', { detail: { planted: n } }, now));
        });
      } finally {
        wipeFrames(prepared);
      }
      return { planted: n, subjects: fakes.map((f) => f.subject), plantedAt: new Date(now), total: this.#repos.guard.canaries() };
    });
  }

  /**
   * The context's names go into the audit log for good: refused (not recorded — the entry would
   * carry what it refuses) when one holds a phone number, e-mail address or stored child's value.
   */
  #checkContext(c: Pick<Context, 'actor' | 'role' | 'purpose'> & { readonly requestId?: string | undefined }): void {
    this.#checkFreeText([
      { field: 'ctx.actor', value: c.actor, kind: 'name' },
      { field: 'ctx.role', value: c.role, kind: 'name' },
      { field: 'ctx.purpose', value: c.purpose, kind: 'name' },
      { field: 'ctx.requestId', value: c.requestId, kind: 'id' },
    ]);
  }

  #checkFreeText(fields: readonly FreeTextField[]): void {
    assertNoContactIn(fields, this.#leakMatcher());
  }

  async #recordFailure(c: Context, action: AuditAction, attempt: Attempt, code: string): Promise<void> {
    const write = (): void => {
      const outcome = isAccessCode(code) ? 'denied' : 'error';
      this.#log.append(this.#record(c, action, { tag: attempt.tag, categories: attempt.categories, outcome, reason: code, detail: attempt.detail ?? null }));
    };
    try {
      // An operation that timed out waiting for the lock did nothing; its caller has waited long
      // enough, so its entry is written only if the lock is free now, not after a second wait.
      if (code === 'BUSY') writeTransactionNow(this.#db, 'recording a failure', write);
      else await writeTransaction(this.#db, 'recording a failure', write);
    } catch {
      // The operation's own error is what the caller needs; a log that cannot take the entry
      // (disk full, read-only file, still locked) has already refused the operation itself.
    }
  }

  /** An audit record for this call. Inside a transaction when `tag` is given (the pseudonym may be created). */
  #record(
    c: Pick<Context, 'actor' | 'role' | 'purpose'> & Partial<Pick<Context, 'approval' | 'requestId'>>,
    action: AuditAction,
    what: {
      tag?: Uint8Array | null;
      categories?: readonly string[];
      outcome?: AuditRecord['outcome'];
      reason?: string;
      detail?: AuditDetail | null;
      decision?: AccessDecision;
      consent?: string;
      approval?: string;
    },
    now: number = this.#now(),
  ): AuditRecord {
    const d = what.decision;
    const views = d === undefined || d.views.size === 0 ? undefined : [...d.views].map(([k, v]) => `${k}:${v}`).sort().join(',');
    const detail = views === undefined ? (what.detail ?? null) : { ...what.detail, views };
    return {
      ts: now,
      actor: c.actor,
      role: c.role,
      purpose: c.purpose,
      action,
      subject: what.tag == null ? null : this.#log.pseudonym(what.tag, true),
      categories: what.categories ?? [],
      outcome: what.outcome ?? 'allowed',
      reason: what.reason ?? null,
      // Only an approval the decision actually checked: a caller-supplied id proves nothing.
      approval: what.approval ?? d?.approvalId ?? null,
      consent: what.consent ?? (d === undefined ? null : idList(d.consentIds)),
      requestId: c.requestId ?? null,
      detail: d !== undefined && d.consentIds.length > MAX_LISTED_IDS ? { ...detail, consents: d.consentIds.length } : detail,
    };
  }

  #requireAccess(): AccessController {
    if (this.#access === null) throw new VaultError('ACCESS_DENIED', 'no policy was given to openVault: every data operation is refused (default deny)');
    return this.#access;
  }

  /** Inside the operation's transaction: the access decision (throws a refusal code). */
  #decide(c: Context, action: DataAction, tag: Uint8Array, categories: readonly string[], now: number, nothingHeld = false): AccessDecision {
    return this.#requireAccess().decide({ action, actor: c.actor, role: c.role, purpose: c.purpose, approval: c.approval, subjectTag: tag, categories, now, nothingHeld });
  }

  /** Runs a management operation: the role must hold a grant for (action, ctx.purpose). */
  #runManaged<T>(ctx: AccessContext, auditAction: AuditAction, action: ManagementAction, fn: (c: Context, attempt: Attempt) => Promise<T>): Promise<T> {
    return this.#run(ctx, auditAction, async (c, attempt) => {
      this.#requireAccess().decideManagement(action, c.role, c.purpose);
      return fn(c, attempt);
    });
  }

  /**
   * Inside a write transaction: deletes values (all, or those categories), forgets their keys, and
   * records the erasure (no subject) so status can say when backups can no longer undo it.
   */
  #eraseInTransaction(tag: Uint8Array, categories: readonly string[] | undefined, reason: string): string[] {
    if (categories !== undefined && categories.length === 0) return [];
    const rows = this.#repos.records.erase(tag, categories);
    for (const row of rows) this.#dekCache.delete(toHex(row.dekId));
    if (rows.length > 0) this.#repos.rotations.recordErasure(this.#now(), reason, rows.length);
    return rows.map((r) => r.category);
  }

  /** Days a category is kept: the policy may shorten the category's own retention. */
  #retentionDays(category: string): number {
    return this.#access?.policy.retention.get(category) ?? this.#definition(category, category).retentionDays;
  }

  #ensureOpen(): void {
    if (this.#closed) throw new VaultError('CLOSED', 'the vault is closed');
  }

  #tagOf(id: string): Uint8Array {
    let tag = this.#tags.get(id);
    if (tag === undefined) {
      tag = subjectTag(this.#subjectIndexKey, id);
      if (this.#tags.size >= 4096) this.#tags.clear();
      this.#tags.set(id, tag);
    }
    return tag;
  }

  #now(): number {
    const t = this.#clock().getTime();
    if (!Number.isFinite(t)) throw new VaultError('VALIDATION', 'now: the clock returned an invalid date', { field: 'now' });
    return t;
  }

  /** `get`'s asked-for views: each for a category asked for, and one that applies to it. */
  #parseViews(views: Readonly<Record<string, View>> | undefined, wanted: readonly string[]): Map<string, View> | undefined {
    if (views === undefined) return undefined;
    const asked = new Map<string, View>();
    for (const [category, view] of Object.entries(views)) {
      const field = `options.views.${safeKey(category)}`;
      if (!wanted.includes(category)) throw new VaultError('VALIDATION', `${field}: not among the categories asked for`, { field });
      const only = VIEW_APPLIES_TO[view];
      if (only !== undefined && only !== category) throw new VaultError('VALIDATION', `${field}: the ${view} view applies to ${only} only`, { field });
      asked.set(category, view);
    }
    return asked;
  }

  #parseCategoryList(categories: unknown, field: string): string[] {
    if (!Array.isArray(categories) || categories.length === 0) {
      throw new VaultError('VALIDATION', `${field}: give a non-empty array of category names`, { field });
    }
    const names = categories.map((c: unknown, i) => {
      this.#definition(c, `${field}[${i}]`);
      return c as string;
    });
    return [...new Set(names)];
  }

  #definition(category: unknown, field: string): C[string] {
    if (typeof category !== 'string' || !Object.hasOwn(this.#categories, category)) {
      throw new VaultError('VALIDATION', `${field}: unknown category (known: ${Object.keys(this.#categories).join(', ')})`, { field });
    }
    return this.#categories[category] as C[string];
  }

  /**
   * Validates a subject and its values, and frames each value (no crypto yet). `index`: also
   * compute the blind-index digests (not for `validate`: hashing a 64 MiB clip for nothing).
   */
  #prepareItem(subject: unknown, values: unknown, subjectField: string, valuesField: string, attempt: Attempt, index = true): { tag: Uint8Array; values: PreparedValue[] } {
    const id = parseOrThrow(subjectIdSchema, subject, subjectField);
    const tag = this.#tagOf(id);
    attempt.tag = tag;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new VaultError('VALIDATION', `${valuesField}: expected an object of category → value`, { field: valuesField });
    }
    const entries = Object.entries(values).filter(([, v]) => v !== undefined);
    if (entries.length === 0) throw new VaultError('VALIDATION', `${valuesField}: give at least one category`, { field: valuesField });
    attempt.categories = entries.map(([category]) => category).filter((category) => Object.hasOwn(this.#categories, category));
    const prepared = entries.map(([category, raw]) => {
      const field = `${valuesField}.${safeKey(category)}`; // an unknown key may be data: never echoed
      assertValueBounds(raw, field); // depth and size first, cheaply: zod and the framing recurse and copy
      const parsed: unknown = parseOrThrow(this.#definition(category, field).schema, raw, field);
      return { category, frame: encodeFrame(parsed), index: index ? blindEntries(this.#blindIndexKey, category, parsed) : [] };
    });
    return { tag, values: prepared };
  }

  /** Inside a write transaction: seals one value under a fresh data key and replaces the stored one. */
  #storeValue(tag: Uint8Array, value: PreparedValue, kekVersion: number, now: number, cacheKey: boolean, canary = false): void {
    const binding: DekBinding = { vaultId: this.#meta.vaultId, subjectTag: tag, category: value.category, dekId: newId(now) };
    const dek = generateDek();
    let owned = true;
    try {
      const wrapped = wrapDek(this.#keyring.get(kekVersion), dek, binding, kekVersion);
      const format = recordFormatFor(value.frame.byteLength);
      const sealed = sealRecord(dek, format, recordAad(binding, format, now), value.frame);
      const stored = this.#repos.records.replace(
        {
          subjectTag: tag,
          category: value.category,
          dekId: binding.dekId,
          kekVersion,
          wrappedDek: wrapped,
          format,
          body: sealed.body,
          chunkCount: format === RECORD_FORMAT_STREAM ? Math.ceil(value.frame.byteLength / CHUNK_BYTES) : 0,
          plaintextBytes: value.frame.byteLength,
          writtenAt: now,
        },
        sealed.chunks,
      );
      if (stored.replacedDekId !== undefined) this.#dekCache.delete(toHex(stored.replacedDekId));
      for (const entry of value.index) {
        this.#repos.guard.insert(stored.id, entry.field, entry.digest, canary);
        this.#digestFilter?.add(entry.digest);
      }
      // Keys just written are likely read soon. If the transaction rolls back, the id is never
      // stored, so the cached key is unreachable and ages out.
      if (cacheKey) owned = !this.#dekCache.offer(toHex(binding.dekId), dek);
    } finally {
      if (owned) dek.wipe();
    }
  }

  /** Inside a transaction: unwraps the data key (or takes it from the cache) and opens the value. */
  #openValue(tag: Uint8Array, row: StoredValueRow): unknown {
    const binding: DekBinding = { vaultId: this.#meta.vaultId, subjectTag: tag, category: row.category, dekId: row.dekId };
    const cacheKey = toHex(row.dekId);
    const cached = this.#dekCache.get(cacheKey);
    const dek = cached ?? unwrapDek(this.#keyring.get(row.kekVersion), row.wrappedDek, binding, row.kekVersion);
    try {
      const chunks = row.format === RECORD_FORMAT_STREAM ? this.#repos.records.chunks(row.dekId) : [];
      return openRecord(dek, row.format, recordAad(binding, row.format, row.writtenAt), row.body, chunks, `${row.category} record`);
    } finally {
      if (cached === undefined && !this.#dekCache.offer(cacheKey, dek)) dek.wipe();
    }
  }

  /** Expiry follows the category's current retention, so shortening it takes effect at once. */
  #expired(category: string, writtenAt: number, now: number): boolean {
    return now >= writtenAt + this.#retentionDays(category) * DAY_MS;
  }

  #activeKekVersion(): number {
    const version = this.#repos.keks.activeVersion();
    if (version === undefined) throw new VaultError('CORRUPT', 'the vault has no active key-encryption key');
    this.#keyring.get(version); // throws KekNotLoaded after another process rotated
    return version;
  }

  /**
   * Runs `fn` in a transaction; when it meets a KEK this process has not unwrapped yet (another
   * process rotated keys), unwraps it — asynchronously, outside the transaction — and reruns.
   */
  async #inTransaction<T>(mode: 'read' | 'write', what: string, fn: () => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return mode === 'write' ? await writeTransaction(this.#db, what, fn) : readTransaction(this.#db, what, fn);
      } catch (error) {
        if (!(error instanceof KekNotLoaded) || attempt >= 8) throw error;
        await this.#loadKek(error.version);
      }
    }
  }

  async #loadKek(version: number): Promise<void> {
    const row = this.#repos.keks.get(version);
    if (row?.wrapped == null) throw new VaultError('INTEGRITY', `a data key refers to key-encryption key v${version}, which does not exist or was destroyed`);
    try {
      await this.#keyring.load(version, row.wrapped);
    } catch (error) {
      // Not tampering: another process rotated the master key, so this one's no longer unwraps.
      const check = this.#repos.meta.get()?.masterCheck;
      if (isVaultError(error, 'INTEGRITY') && check !== undefined && Buffer.compare(check, this.#meta.masterCheck) !== 0) {
        throw new VaultError('MASTER_KEY_UNAVAILABLE', 'the master key was rotated by another process (keys rotate-master): close this vault and open it with the new key', { cause: error });
      }
      throw error;
    }
  }

  #receipt(values: readonly PreparedValue[], now: number): PutReceipt {
    const expiresAt: Record<string, Date> = {};
    for (const v of values) expiresAt[v.category] = new Date(now + this.#retentionDays(v.category) * DAY_MS);
    return { categories: values.map((v) => v.category), writtenAt: new Date(now), expiresAt };
  }
}
