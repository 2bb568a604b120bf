/**
 * The vault facade. Each operation reads as its story — validate, (decide, audit: later layers),
 * crypto, store — and holds no crypto primitives or SQL of its own.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { openRecord, recordFormatFor, sealRecord, CHUNK_BYTES, RECORD_FORMAT_STREAM } from './crypto/record-cipher.js';
import { loadSodium } from './crypto/sodium.js';
import { VaultError } from './errors.js';
import { idToUuid, newId, toHex } from './format/ids.js';
import { encodeFrame, type EncodedFrame } from './format/value-codec.js';
import { Sensitive } from './guard/sensitive.js';
import { DekCache, generateDek, recordAad, unwrapDek, wrapDek, type DekBinding } from './keys/data-keys.js';
import { KekNotLoaded, type Keyring } from './keys/keyring.js';
import type { MasterKeyProvider } from './keys/master-key.js';
import { subjectTag } from './keys/subject-index.js';
import { unlockVault } from './keys/unlock.js';
import type { SecretBytes } from './crypto/secret-bytes.js';
import { accessContextSchema, type AccessContext } from './schema/access-context.js';
import { resolveCategories, type BuiltInCategories, type CategoryMap } from './schema/categories.js';
import { subjectIdSchema } from './schema/subject.js';
import { parseOrThrow } from './schema/zod-errors.js';
import { openDatabase, readTransaction, writeTransaction, type Durability, type SqliteDatabase } from './store/database.js';
import { KekRepository, type KekState } from './store/kek-repository.js';
import { MetaRepository, type VaultMetaRow } from './store/meta-repository.js';
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate, schemaVersion, vaultExists } from './store/migrator.js';
import { RecordRepository, type StoredValueRow } from './store/record-repository.js';

const DAY_MS = 86_400_000;

/** Options of `openVault`. */
export interface VaultOptions<Extra extends CategoryMap = CategoryMap> {
  /** The SQLite file (created if missing), or `:memory:`. */
  readonly path: string;
  /** Where the master key comes from: `keyFile`, `envKey`, `passphraseKey`, or your KMS. */
  readonly masterKey: MasterKeyProvider;
  /** Extra categories beyond face, voice, location and contact. */
  readonly categories?: Extra;
  /** The clock (for tests and retention). Defaults to the system clock. */
  readonly now?: () => Date;
  /** `full` (default) fsyncs every commit; `normal` may lose the last commits on power loss. */
  readonly durability?: Durability;
  /** How many unwrapped data keys to keep in memory (default 1024; 0 disables the cache). */
  readonly dataKeyCacheSize?: number;
  /** Refuse to create a new vault: the file must hold one already (default false). */
  readonly mustExist?: boolean;
  /** Folder of migrations (tests only). */
  readonly migrationsDir?: string;
}

export type CategoryName<C extends CategoryMap> = keyof C & string;
/** The value type of category `K` (what `get` reveals). */
export type CategoryValue<C extends CategoryMap, K extends keyof C> = z.output<C[K]['schema']>;
/** What `put` accepts for category `K`. */
export type CategoryInput<C extends CategoryMap, K extends keyof C> = z.input<C[K]['schema']>;
/** Values for `put`: any subset of the vault's categories. */
export type PutValues<C extends CategoryMap> = { readonly [K in CategoryName<C>]?: CategoryInput<C, K> };
/** What `get` returns: the categories asked for that hold a current value. */
export type GetResult<C extends CategoryMap, K extends CategoryName<C>> = { [P in K]?: Sensitive<CategoryValue<C, P>> };

export interface PutManyItem<C extends CategoryMap> {
  readonly subject: string;
  readonly values: PutValues<C>;
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
}

export interface VaultStatus {
  readonly vaultId: string;
  readonly formatVersion: number;
  readonly schemaVersion: string;
  readonly createdAt: Date;
  readonly masterKeyProvider: string;
  readonly durability: Durability;
  readonly categories: readonly { name: string; retentionDays: number; values: number; plaintextBytes: number }[];
  readonly keks: readonly { version: number; state: KekState; createdAt: Date; retiredAt: Date | null; destroyedAt: Date | null; dataKeys: number }[];
}

const optionsSchema = z.object({
  path: z.string().min(1),
  durability: z.enum(['full', 'normal']).optional(),
  dataKeyCacheSize: z.number().int().min(0).max(1_000_000).optional(),
  mustExist: z.boolean().optional(),
  migrationsDir: z.string().min(1).optional(),
});

interface Repositories {
  readonly meta: MetaRepository;
  readonly keks: KekRepository;
  readonly records: RecordRepository;
}

/** A value validated and framed, ready to seal. */
interface PreparedValue {
  readonly category: string;
  readonly frame: EncodedFrame;
}

/** Frame heads hold plaintext JSON: zero them once the values are sealed (or refused). */
function wipeFrames(items: readonly { values: readonly PreparedValue[] }[]): void {
  for (const item of items) for (const value of item.values) value.frame.head.fill(0);
}

/**
 * An open vault. Get one from `openVault`; close it when done (keys are wiped on close).
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: 'pool.db', masterKey: keyFile('master.key') });
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
  readonly #meta: VaultMetaRow;
  readonly #keyring: Keyring;
  readonly #subjectIndexKey: SecretBytes;
  readonly #provider: MasterKeyProvider;
  readonly #dekCache: DekCache;
  readonly #clock: () => Date;
  readonly #durability: Durability;
  /** Subject id → tag. A pure memo (a tag never changes), bounded by clearing. */
  readonly #tags = new Map<string, Uint8Array>();
  #closed = false;

  /** @internal Use `openVault`. */
  constructor(init: {
    db: SqliteDatabase;
    repos: Repositories;
    categories: C;
    meta: VaultMetaRow;
    keyring: Keyring;
    subjectIndexKey: SecretBytes;
    provider: MasterKeyProvider;
    dekCacheSize: number;
    clock: () => Date;
    durability: Durability;
  }) {
    this.#db = init.db;
    this.#repos = init.repos;
    this.#categories = init.categories;
    this.#meta = init.meta;
    this.#keyring = init.keyring;
    this.#subjectIndexKey = init.subjectIndexKey;
    this.#provider = init.provider;
    this.#dekCache = new DekCache(init.dekCacheSize);
    this.#clock = init.clock;
    this.#durability = init.durability;
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
   * first; all are written in one transaction, each under a fresh data key (the old key is
   * destroyed with the old value).
   */
  async put(subject: string, values: PutValues<C>, ctx: AccessContext): Promise<PutReceipt> {
    this.#ensureOpen();
    parseOrThrow(accessContextSchema, ctx, 'ctx');
    const item = this.#prepareItem(subject, values, 'subject', 'values');
    const now = this.#now();
    try {
      await this.#inTransaction('write', 'storing values', () => {
        const kekVersion = this.#activeKekVersion();
        for (const value of item.values) this.#storeValue(item.tag, value, kekVersion, now, true);
      });
    } finally {
      wipeFrames([item]);
    }
    return this.#receipt(item.values, now);
  }

  /** Checks a subject id and values exactly as `put` would, without writing. Throws VALIDATION. */
  validate(subject: string, values: PutValues<C>): void {
    this.#ensureOpen();
    wipeFrames([this.#prepareItem(subject, values, 'subject', 'values')]);
  }

  /**
   * Stores values of many subjects in one transaction: all or nothing. Every item is validated
   * before anything is written; errors name the item (`items[3].values.location.lat`).
   */
  async putMany(items: readonly PutManyItem<C>[], ctx: AccessContext): Promise<PutReceipt[]> {
    this.#ensureOpen();
    parseOrThrow(accessContextSchema, ctx, 'ctx');
    const list: unknown = items;
    if (!Array.isArray(list)) throw new VaultError('VALIDATION', 'items: expected an array', { field: 'items' });
    const prepared = list.map((item: unknown, i) => {
      if (typeof item !== 'object' || item === null) throw new VaultError('VALIDATION', `items[${i}]: expected an object`, { field: `items[${i}]` });
      const { subject, values } = item as { subject?: unknown; values?: unknown };
      return this.#prepareItem(subject, values, `items[${i}].subject`, `items[${i}].values`);
    });
    const now = this.#now();
    try {
      await this.#inTransaction('write', 'storing values', () => {
        const kekVersion = this.#activeKekVersion();
        // Bulk writes do not fill the key cache: it would evict the keys that reads need.
        for (const item of prepared) for (const value of item.values) this.#storeValue(item.tag, value, kekVersion, now, false);
      });
    } finally {
      wipeFrames(prepared);
    }
    return prepared.map((item) => this.#receipt(item.values, now));
  }

  /**
   * Reads current values of one subject. Categories without a value (never written, erased or
   * past retention) are absent from the result. Each value comes back as `Sensitive`.
   */
  async get<K extends CategoryName<C>>(subject: string, categories: readonly K[], ctx: AccessContext): Promise<GetResult<C, K>> {
    this.#ensureOpen();
    parseOrThrow(accessContextSchema, ctx, 'ctx');
    const id = parseOrThrow(subjectIdSchema, subject, 'subject');
    const wanted = this.#parseCategoryList(categories, 'categories');
    const tag = this.#tagOf(id);
    const now = this.#now();
    return this.#inTransaction('read', 'reading values', () => {
      const result: Record<string, Sensitive<unknown>> = {};
      for (const category of wanted) {
        const row = this.#repos.records.find(tag, category);
        if (row === undefined || this.#expired(category, row.writtenAt, now)) continue;
        result[category] = new Sensitive(this.#openValue(tag, row), category);
      }
      return result as GetResult<C, K>;
    });
  }

  /**
   * Erases a subject (or some of its categories): the data keys are destroyed (crypto-shredding)
   * and the ciphertext deleted, with its pages zeroed (secure_delete).
   */
  async erase(subject: string, ctx: AccessContext, options: EraseOptions<C> = {}): Promise<EraseReceipt> {
    this.#ensureOpen();
    parseOrThrow(accessContextSchema, ctx, 'ctx');
    const id = parseOrThrow(subjectIdSchema, subject, 'subject');
    const categories = options.categories === undefined ? undefined : this.#parseCategoryList(options.categories, 'options.categories');
    const tag = this.#tagOf(id);
    const now = this.#now();
    const erased = await this.#inTransaction('write', 'erasing values', () => this.#repos.records.erase(tag, categories));
    for (const row of erased) this.#dekCache.delete(toHex(row.dekId));
    return { erased: erased.map((r) => r.category), erasedAt: new Date(now) };
  }

  /** Identity, schema, counts per category and key versions. Reveals no values. */
  async status(): Promise<VaultStatus> {
    this.#ensureOpen();
    return readTransaction(this.#db, 'reading status', () => {
      const counts = new Map(this.#repos.records.countByCategory().map((c) => [c.category, c]));
      return {
        vaultId: this.id,
        formatVersion: this.#meta.formatVersion,
        schemaVersion: schemaVersion(this.#db) ?? 'none',
        createdAt: new Date(this.#meta.createdAt),
        masterKeyProvider: this.#meta.masterProvider,
        durability: this.#durability,
        categories: Object.entries(this.#categories).map(([name, def]) => ({
          name,
          retentionDays: def.retentionDays,
          values: counts.get(name)?.count ?? 0,
          plaintextBytes: counts.get(name)?.bytes ?? 0,
        })),
        keks: this.#repos.keks.usage().map((k) => ({
          version: k.version,
          state: k.state,
          createdAt: new Date(k.createdAt),
          retiredAt: k.retiredAt === null ? null : new Date(k.retiredAt),
          destroyedAt: k.destroyedAt === null ? null : new Date(k.destroyedAt),
          dataKeys: k.dekCount,
        })),
      };
    });
  }

  /** Wipes every key held in memory and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dekCache.clear();
    this.#tags.clear();
    this.#keyring.wipe();
    this.#subjectIndexKey.wipe();
    this.#provider.close?.();
    this.#db.close();
  }

  // ---- steps -------------------------------------------------------------------------------

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

  /** Validates a subject and its values, and frames each value (no crypto yet). */
  #prepareItem(subject: unknown, values: unknown, subjectField: string, valuesField: string): { tag: Uint8Array; values: PreparedValue[] } {
    const id = parseOrThrow(subjectIdSchema, subject, subjectField);
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new VaultError('VALIDATION', `${valuesField}: expected an object of category → value`, { field: valuesField });
    }
    const entries = Object.entries(values).filter(([, v]) => v !== undefined);
    if (entries.length === 0) throw new VaultError('VALIDATION', `${valuesField}: give at least one category`, { field: valuesField });
    const prepared = entries.map(([category, raw]) => {
      const field = `${valuesField}.${category}`;
      const parsed: unknown = parseOrThrow(this.#definition(category, field).schema, raw, field);
      return { category, frame: encodeFrame(parsed) };
    });
    return { tag: this.#tagOf(id), values: prepared };
  }

  /** Inside a write transaction: seals one value under a fresh data key and replaces the stored one. */
  #storeValue(tag: Uint8Array, value: PreparedValue, kekVersion: number, now: number, cacheKey: boolean): void {
    const binding: DekBinding = { vaultId: this.#meta.vaultId, subjectTag: tag, category: value.category, dekId: newId(now) };
    const dek = generateDek();
    let owned = true;
    try {
      const wrapped = wrapDek(this.#keyring.get(kekVersion), dek, binding, kekVersion);
      const format = recordFormatFor(value.frame.byteLength);
      const sealed = sealRecord(dek, format, recordAad(binding, format, now), value.frame);
      const replaced = this.#repos.records.replace(
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
      if (replaced !== undefined) this.#dekCache.delete(toHex(replaced));
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
    return now >= writtenAt + this.#definition(category, category).retentionDays * DAY_MS;
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
        return mode === 'write' ? writeTransaction(this.#db, what, fn) : readTransaction(this.#db, what, fn);
      } catch (error) {
        if (!(error instanceof KekNotLoaded) || attempt >= 8) throw error;
        await this.#loadKek(error.version);
      }
    }
  }

  async #loadKek(version: number): Promise<void> {
    const row = this.#repos.keks.get(version);
    if (row?.wrapped == null) throw new VaultError('INTEGRITY', `a data key refers to key-encryption key v${version}, which does not exist or was destroyed`);
    await this.#keyring.load(version, row.wrapped);
  }

  #receipt(values: readonly PreparedValue[], now: number): PutReceipt {
    const expiresAt: Record<string, Date> = {};
    for (const v of values) expiresAt[v.category] = new Date(now + this.#definition(v.category, v.category).retentionDays * DAY_MS);
    return { categories: values.map((v) => v.category), writtenAt: new Date(now), expiresAt };
  }
}

/**
 * Opens (or creates) a vault. Checks the master key before anything is read or written; applies
 * pending schema migrations; refuses files that are not childvault vaults.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no extra categories by default
export async function openVault<Extra extends CategoryMap = {}>(
  options: VaultOptions<Extra>,
): Promise<Vault<BuiltInCategories & Extra>> {
  parseOrThrow(optionsSchema, options, 'options');
  if (typeof options.masterKey !== 'object' || options.masterKey === null || typeof options.masterKey.unwrap !== 'function') {
    throw new VaultError('VALIDATION', 'options.masterKey: give a master-key provider (keyFile, envKey, passphraseKey or your own)', { field: 'options.masterKey' });
  }
  const categories = resolveCategories(options.categories);
  const clock = options.now ?? (() => new Date());
  const durability = options.durability ?? 'full';
  await loadSodium();

  const migrations = loadMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  if (options.mustExist === true && (options.path === ':memory:' || !existsSync(options.path))) {
    throw new VaultError('NOT_FOUND', `vault file ${options.path} does not exist; create one with \`childvault init\``);
  }
  const db = openDatabase({ path: options.path, durability });
  try {
    const existed = vaultExists(db);
    if (!existed && options.mustExist === true) {
      throw new VaultError('NOT_FOUND', `${options.path} holds no childvault vault; create one with \`childvault init\``);
    }
    // A new file needs its tables before keys can be stored; an existing vault proves the key
    // first, so a wrong key changes nothing (not even a pending migration).
    if (!existed) migrate(db, migrations, clock().getTime());
    const repos = { meta: new MetaRepository(db), keks: new KekRepository(db), records: new RecordRepository(db) };
    const unlocked = await unlockVault(db, repos, options.masterKey, clock().getTime());
    if (existed) migrate(db, migrations, clock().getTime());
    return new Vault({
      db,
      repos,
      categories,
      meta: unlocked.meta,
      keyring: unlocked.keyring,
      subjectIndexKey: unlocked.subjectIndexKey,
      provider: options.masterKey,
      dekCacheSize: options.dataKeyCacheSize ?? 1024,
      clock,
      durability,
    });
  } catch (error) {
    options.masterKey.close?.();
    db.close();
    throw error;
  }
}
