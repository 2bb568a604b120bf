/**
 * The benchmark cases: each vault operation beside raw better-sqlite3 / libsodium doing the same
 * storage (or crypto) work with the vault's pragmas and table shapes, in its own files under `dir`.
 * Every put writes a new subject on both sides, so neither side pays for replacing an old value.
 *
 * Every vault operation appends one hash-chained audit entry in its own IMMEDIATE transaction, so
 * every raw storage baseline does too: its rows plus one `audit_log` row of the same columns and
 * sizes as the entry the vault wrote for that operation (32 random bytes for prev_hash and hash),
 * in one IMMEDIATE transaction per call; a put of a new subject also inserts the subject's
 * `audit_subjects` row (its sealed pseudonym key, same size), as the vault does. The raw side
 * keeps the next seq in memory and computes no hash or key; the vault also reads the head, hashes
 * the entry, seals and opens the pseudonym key, looks it up on later operations and signs a
 * checkpoint every 1000 entries — that is the overhead measured.
 */
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { generateKeyFile, keyFile, openVault, type AccessContext, type Durability, type PolicyInput } from '../src/index.js';
import type { BenchCase } from './harness.js';
import { benchCtx, benchPolicy, examplePolicy } from './policy.js';

type RawDatabase = Database.Database;
type BenchVault = Awaited<ReturnType<typeof openVault>>;

const ctx = benchCtx;
const location = { lat: 30.274085, lon: 120.15507, accuracyM: 12.5, capturedAt: '2024-05-01T08:30:00.000Z' };
const BATCH = 500;
/** Subjects stored for the get cases, and the hot set read (smaller than the default key cache of 1024). */
const GET_SUBJECTS = 5000;
const GET_HOT = 1000;
/** Subjects per getMany call. */
const MANY_GET = 50;
/** Operations in flight at once in the group-commit cases (a busy service's concurrent requests). */
const IN_FLIGHT = 64;
const contact = { phone: '+8613800138000', email: 'parent@example.com', address: 'No. 1 Test Road, Hangzhou' };

/** Random bytes cut from a pool, so raw rows cost no more to make than the vault's own ids. */
class RandomPool {
  #pool = Buffer.alloc(64 * 1024);
  #at = this.#pool.length;

  take(n: number): Buffer {
    if (this.#at + n > this.#pool.length) {
      this.#pool = randomFillSync(Buffer.allocUnsafe(this.#pool.length));
      this.#at = 0;
    }
    const out = this.#pool.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  /** A time-ordered 16-byte id (48-bit ms, then random), like the vault's UUIDv7 row ids. */
  id(now: number): Buffer {
    const id = Buffer.from(this.take(16));
    id.writeUIntBE(now, 0, 6);
    return id;
  }
}

/** A raw connection with the vault's pragmas (src/store/database.ts). */
function openRaw(path: string, durability: Durability): RawDatabase {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('secure_delete = ON');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * The schema of a vault file as SQL (its tables and indexes, whatever migrations made them), so
 * the raw databases have exactly the vault's tables, constraints and indexes.
 */
function vaultSchema(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid").all() as { sql: string }[];
    return rows.map((r) => r.sql);
  } finally {
    db.close();
  }
}

/** The vault's own schema with one active KEK row. */
function createVaultTables(db: RawDatabase, schema: readonly string[]): void {
  for (const sql of schema) db.exec(sql);
  db.prepare("INSERT INTO keks (version, state, wrapped, created_at) VALUES (1, 'active', ?, ?)").run(Buffer.alloc(73), Date.now());
}

/**
 * INSERT into one of the vault's tables with the columns its schema defines (read from the
 * schema, so the baseline follows schema changes); values bound by position.
 */
function tableInsert(db: RawDatabase, table: 'records' | 'audit_log' | 'audit_subjects'): (row: Readonly<Record<string, unknown>>) => void {
  const columns = (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((c) => c.name);
  const insert = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  return (row) => {
    insert.run(
      columns.map((c) => {
        if (!(c in row)) throw new Error(`bench: no value for ${table}.${c}; update bench/vault-ops.ts`);
        return row[c];
      }),
    );
  };
}

/** Sizes of what the vault stored for one value: the raw sides write rows of the same size. */
function storedSizes(path: string, category: string): { body: number; wrapped: number; plaintext: number } {
  const db = new Database(path, { readonly: true });
  try {
    const row = db
      .prepare(`SELECT length(body) AS body, length(wrapped_dek) AS wrapped, plaintext_bytes AS plaintext
        FROM records WHERE category = ? LIMIT 1`)
      .get(category) as { body: number; wrapped: number; plaintext: number } | undefined;
    if (row === undefined) throw new Error(`no ${category} value stored in ${path}`);
    return row;
  } finally {
    db.close();
  }
}

/** The last audit entry the vault at `path` wrote for `action` (every column). */
function lastAuditRow(path: string, action: string): Record<string, unknown> {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare('SELECT * FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1').get(action) as Record<string, unknown> | undefined;
    if (row === undefined) throw new Error(`no ${action} audit entry in ${path}`);
    return row;
  } finally {
    db.close();
  }
}

/** The bytes of that entry's columns (text as UTF-8, integers as 8): the size of one log row holding it. */
function lastAuditRowBytes(path: string, action: string): number {
  let bytes = 0;
  for (const value of Object.values(lastAuditRow(path, action))) {
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (value instanceof Uint8Array) bytes += value.length;
    else if (typeof value === 'number' || typeof value === 'bigint') bytes += 8;
  }
  return bytes;
}

/** The size of a sealed per-subject pseudonym key in the vault at `path`. */
function sealedPseudonymKeyBytes(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare('SELECT length(sealed_key) AS n FROM audit_subjects LIMIT 1').get() as { n: number } | undefined;
    if (row === undefined) throw new Error(`no audit_subjects row in ${path}`);
    return row.n;
  } finally {
    db.close();
  }
}

/**
 * Appends audit rows to a raw database: a row the vault wrote for the same operation (same text
 * columns, same 32-byte subject), at the next seq, with the current time and fresh random
 * prev_hash and hash.
 */
function auditAppender(db: RawDatabase, rnd: RandomPool): (template: Readonly<Record<string, unknown>>) => void {
  const insert = tableInsert(db, 'audit_log');
  let seq = 0;
  return (template) => {
    insert({ ...template, seq: ++seq, ts: Date.now(), prev_hash: rnd.take(32), hash: rnd.take(32) });
  };
}

export interface Suite {
  readonly cases: BenchCase[];
  readonly sqliteVersion: string;
  /** Lines printed under the table (derived figures such as getMany's amortisation). */
  notes(rows: readonly { operation: string; vaultOpsPerSec: number }[]): string[];
  close(): Promise<void>;
}

export const AUDITED_GET = 'audited get location (durability full)';
export const GET_MANY = `getMany ×${MANY_GET} location (durability full), subjects/s`;

export async function createSuite(dir: string): Promise<Suite> {
  await sodium.ready;
  const keyPath = join(dir, 'master.key');
  (await generateKeyFile(keyPath)).close?.();
  const vaults: BenchVault[] = [];
  const raws: RawDatabase[] = [];
  const vault = async (name: string, durability: Durability, options: { dataKeyCacheSize?: number; policy?: PolicyInput } = {}): Promise<BenchVault> => {
    const v = await openVault({ create: true, path: join(dir, name), masterKey: keyFile(keyPath), durability, policy: options.policy ?? benchPolicy, ...(options.dataKeyCacheSize === undefined ? {} : { dataKeyCacheSize: options.dataKeyCacheSize }) });
    vaults.push(v);
    return v;
  };
  const raw = (name: string, durability: Durability): RawDatabase => {
    const db = openRaw(join(dir, name), durability);
    raws.push(db);
    return db;
  };
  const rnd = new RandomPool();
  let seq = 0;
  const subject = (prefix: string): string => `${prefix}:${++seq}`;

  // ---- small values: put at both durabilities ----------------------------------------------
  const putFull = await vault('put-full.db', 'full');
  const putNormal = await vault('put-normal.db', 'normal');
  await putFull.put(subject('p'), { location }, ctx);
  const schema = vaultSchema(join(dir, 'put-full.db'));
  const small = storedSizes(join(dir, 'put-full.db'), 'location');
  const putAudit = lastAuditRow(join(dir, 'put-full.db'), 'put');
  const smallBody = rnd.take(small.body);
  const smallWrapped = rnd.take(small.wrapped);
  /** The row the vault writes for one value, with random bytes in place of ciphertext. */
  const rawRow = (now: number, tag: Buffer, body: Uint8Array = smallBody, plaintext = small.plaintext): Record<string, unknown> => ({
    id: null,
    subject_tag: tag,
    category: 'location',
    dek_id: rnd.id(now),
    kek_version: 1,
    wrapped_dek: smallWrapped,
    format: 1,
    body,
    chunk_count: 0,
    plaintext_bytes: plaintext,
    written_at: now,
    mac: rnd.take(32), // the row's MAC: the same bytes stored, without computing it
  });
  const sealedKeyBytes = sealedPseudonymKeyBytes(join(dir, 'put-full.db'));
  /**
   * A raw database with the vault's tables: insert a record row (with the audit_subjects row of
   * its new subject), append an audit row like one of the vault's entries.
   */
  const rawVault = (name: string, durability: Durability) => {
    const db = raw(name, durability);
    createVaultTables(db, schema);
    const insertRecord = tableInsert(db, 'records');
    const insertSubject = tableInsert(db, 'audit_subjects');
    return {
      db,
      insertRecord,
      /** The record row of a subject seen for the first time, and its sealed pseudonym key. */
      insertNewSubjectRecord: (row: Readonly<Record<string, unknown>>) => {
        insertRecord(row);
        insertSubject({ subject_tag: row['subject_tag'], sealed_key: rnd.take(sealedKeyBytes) });
      },
      appendAudit: auditAppender(db, rnd),
    };
  };
  type RawVault = ReturnType<typeof rawVault>;
  // Single-row baseline: the same records, audit_subjects and audit_log rows in the vault's tables, one IMMEDIATE transaction per put.
  const rawPut = (durability: Durability): (() => void) => {
    const r = rawVault(`raw-put-${durability}.db`, durability);
    const tx = r.db.transaction(() => {
      r.insertNewSubjectRecord(rawRow(Date.now(), Buffer.from(rnd.take(32))));
      r.appendAudit(putAudit);
    });
    return () => {
      tx.immediate();
    };
  };

  // ---- putMany: the vault's exact rows, without crypto ---------------------------------------
  const many = await vault('put-many.db', 'full');
  const manyItems = () => Array.from({ length: BATCH }, () => ({ subject: subject('m'), values: { location } }));
  /** `count` new subjects' records, audit_subjects and audit_log rows in one IMMEDIATE transaction; returns the subject tags. */
  const rawRows = (r: RawVault): ((count: number) => Buffer[]) => {
    const batch = r.db.transaction((count: number): Buffer[] => {
      const now = Date.now();
      const tags: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const tag = Buffer.from(rnd.take(32));
        r.insertNewSubjectRecord(rawRow(now, tag));
        r.appendAudit(putAudit);
        tags.push(tag);
      }
      return tags;
    });
    return (count) => batch.immediate(count);
  };
  const rawMany = rawRows(rawVault('raw-many.db', 'full'));

  // ---- get: 5000 subjects stored, a hot set of 1000 read round-robin ---------------------------
  const getSubjects: string[] = [];
  {
    const loader = await openVault({ create: true, path: join(dir, 'get.db'), masterKey: keyFile(keyPath), policy: benchPolicy });
    for (let i = 0; i < GET_SUBJECTS; i += BATCH) {
      const items = Array.from({ length: BATCH }, () => ({ subject: subject('g'), values: { location } }));
      getSubjects.push(...items.map((it) => it.subject));
      await loader.putMany(items, ctx);
    }
    await loader.get(getSubjects[0]!, ['location'], ctx);
    await loader.close();
  }
  const getAudit = lastAuditRow(join(dir, 'get.db'), 'get');
  const getWarm = await vault('get.db', 'full');
  const getCold = await vault('get.db', 'full', { dataKeyCacheSize: 0 });
  const getAudited = await vault('get.db', 'full');
  const getBatch = await vault('get.db', 'full');
  const rawGet = rawVault('raw-get.db', 'full');
  const rawGetTags: Buffer[] = [];
  {
    // Loaded like the vault's: records rows with their subjects' pseudonym-key rows and put entries.
    const load = rawRows(rawGet);
    for (let i = 0; i < GET_SUBJECTS; i += BATCH) rawGetTags.push(...load(BATCH));
  }
  // The vault's lookup (src/store/record-repository.ts).
  const rawFind = rawGet.db.prepare(`SELECT category, dek_id, kek_version, wrapped_dek, format, body, chunk_count, plaintext_bytes, written_at
    FROM records WHERE subject_tag = ? AND category = ?`);
  const roundRobin = <T>(list: readonly T[]): (() => T) => {
    let i = 0;
    return () => list[i++ % GET_HOT]!;
  };
  const nextGetSubject = roundRobin(getSubjects);
  const nextColdSubject = roundRobin(getSubjects);
  const nextAuditedSubject = roundRobin(getSubjects);
  const nextRawTag = roundRobin(rawGetTags);
  const rawGetOne = (): void => {
    if (rawFind.get(nextRawTag(), 'location') === undefined) throw new Error('raw row missing');
    rawGet.appendAudit(getAudit);
  };
  const rawGetTx = rawGet.db.transaction(rawGetOne);
  const rawAuditedGet = (): void => {
    rawGetTx.immediate();
  };
  // getMany: 50 consecutive subjects of the hot set per call, on both sides.
  let manyAt = 0;
  const nextBatch = (): { subject: string; categories: 'location'[] }[] => {
    const batch = Array.from({ length: MANY_GET }, (_, i) => ({ subject: getSubjects[(manyAt + i) % GET_HOT]!, categories: ['location' as const] }));
    manyAt = (manyAt + MANY_GET) % GET_HOT;
    return batch;
  };
  const rawManyTx = rawGet.db.transaction(() => {
    for (let i = 0; i < MANY_GET; i++) rawGetOne();
  });

  // ---- 1 MiB face image ---------------------------------------------------------------------
  const image = randomFillSync(new Uint8Array(1024 * 1024));
  const blob = await vault('blob.db', 'full');
  await blob.put('face:get', { face: { image } }, ctx);
  await blob.get('face:get', ['face'], ctx);
  const key = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
  const NONCE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  // The raw sides keep the nonce beside the ciphertext (not copied into one buffer), the cheapest
  // way to use the AEAD, so these baselines are a lower bound on what an application would pay.
  const encrypt = (nonce: Uint8Array): Uint8Array => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(image, null, null, nonce, key);
  const decrypt = (ciphertext: Uint8Array, nonce: Uint8Array): Uint8Array =>
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, null, nonce, key);
  const blobPutAudit = lastAuditRow(join(dir, 'blob.db'), 'put');
  const blobGetAudit = lastAuditRow(join(dir, 'blob.db'), 'get');
  const rawBlob = rawVault('raw-blob.db', 'full');
  const rawBlobPutTx = rawBlob.db.transaction((ciphertext: Uint8Array) => {
    rawBlob.insertNewSubjectRecord(rawRow(Date.now(), Buffer.from(rnd.take(32)), ciphertext, image.length));
    rawBlob.appendAudit(blobPutAudit);
  });
  const rawBlobPut = () => {
    rawBlobPutTx.immediate(encrypt(sodium.randombytes_buf(NONCE)));
  };
  const storedNonce = sodium.randombytes_buf(NONCE);
  const stored = encrypt(storedNonce);
  const blobTag = Buffer.from(rnd.take(32));
  rawBlob.insertNewSubjectRecord(rawRow(Date.now(), blobTag, stored, image.length));
  const selectBlob = rawBlob.db.prepare("SELECT body FROM records WHERE subject_tag = ? AND category = 'location'");
  // Like the vault: decrypted inside the transaction that records the read.
  const rawBlobGetTx = rawBlob.db.transaction(() => {
    const row = selectBlob.get(blobTag) as { body: Uint8Array } | undefined;
    if (row === undefined || decrypt(row.body, storedNonce).length !== image.length) throw new Error('raw blob missing');
    rawBlob.appendAudit(blobGetAudit);
  });
  const rawBlobGet = () => {
    rawBlobGetTx.immediate();
  };

  // ---- access decision overhead --------------------------------------------------------------
  // Two vaults holding the same 1000 subjects' locations, read the same way. (a) benchPolicy: a
  // role grant for an exempt purpose, no approval, no read limit. (b) docs/policy.example.json:
  // `service` reads for `location-sharing`, which needs the grant, the purpose, an active guardian
  // consent (consent-required), the location protection check (the purpose displays to others;
  // the consent lifts it) and the hourly read limit (counted in read_counters on every read).
  const sharing: AccessContext = { actor: 'svc:bench', role: 'service', purpose: 'location-sharing' };
  const accessSubjects = Array.from({ length: GET_HOT }, (_, i) => `a:${i + 1}`);
  {
    const items = accessSubjects.map((s) => ({ subject: s, values: { location } }));
    const exempt = await openVault({ create: true, path: join(dir, 'access-exempt.db'), masterKey: keyFile(keyPath), durability: 'normal', policy: benchPolicy });
    await exempt.putMany(items, ctx);
    await exempt.close();
    const full = await openVault({ create: true, path: join(dir, 'access-consent.db'), masterKey: keyFile(keyPath), durability: 'normal', policy: examplePolicy() });
    const portal: AccessContext = { actor: 'svc:guardian-portal', role: 'guardian-portal', purpose: 'guardian-access' };
    for (const s of accessSubjects) {
      await full.consent.grant(s, { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:bench', verification: 'sms-code', noticeVersion: '2026-09' }, portal);
    }
    await full.putMany(items, { actor: 'cli:bench', role: 'operator', purpose: 'legacy-import' });
    const check = await full.get(accessSubjects[0]!, ['location'], sharing);
    if (check.location?.view !== 'full') throw new Error('bench: the example policy no longer serves location-sharing reads in full view; update bench/vault-ops.ts');
    await full.close();
  }
  const accessPair = async (durability: Durability) => {
    const exempt = await vault('access-exempt.db', durability);
    const consented = await vault('access-consent.db', durability, { policy: examplePolicy() });
    const nextA = roundRobin(accessSubjects);
    const nextB = roundRobin(accessSubjects);
    return {
      exempt: () => exempt.get(nextA(), ['location'], ctx),
      consented: () => consented.get(nextB(), ['location'], sharing),
    };
  };
  const accessNormal = await accessPair('normal');
  const accessFull = await accessPair('full');
  const fullPath = 'get location under docs/policy.example.json (grant + consent-required purpose + active consent + protection + read limit)';
  const grantOnly = '[vault] same get, grant only (exempt purpose, no approval, no limit); ratio = full path ÷ grant only';

  const cases: BenchCase[] = [
    {
      name: 'put location (durability full)',
      itemsPerCall: 1,
      vault: () => putFull.put(subject('p'), { location }, ctx),
      baselines: [{ label: 'raw IMMEDIATE tx: INSERT the same records row + audit_subjects row + audit row, synchronous=FULL', op: rawPut('full'), target: 0.7 }],
    },
    {
      name: 'put location (durability normal)',
      itemsPerCall: 1,
      vault: () => putNormal.put(subject('n'), { location }, ctx),
      baselines: [{ label: 'raw IMMEDIATE tx: INSERT the same records row + audit_subjects row + audit row, synchronous=NORMAL', op: rawPut('normal') }],
    },
    {
      name: `putMany ×${BATCH} location, records/s`,
      itemsPerCall: BATCH,
      vault: () => many.putMany(manyItems(), ctx),
      baselines: [{ label: `raw IMMEDIATE tx of the same ${BATCH} records rows + ${BATCH} audit_subjects rows + ${BATCH} audit rows`, op: () => rawMany(BATCH), target: 0.5 }],
    },
    {
      name: 'get location (key cache warm)',
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: () => getWarm.get(nextGetSubject(), ['location'], ctx),
      baselines: [{ label: 'raw IMMEDIATE tx: SELECT by (tag, category) + INSERT audit row, synchronous=FULL', op: rawAuditedGet, target: 0.6 }],
    },
    {
      name: 'get location (key cache off)',
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: () => getCold.get(nextColdSubject(), ['location'], ctx),
      baselines: [{ label: 'raw IMMEDIATE tx: SELECT by (tag, category) + INSERT audit row, synchronous=FULL', op: rawAuditedGet, target: 0.6 }],
    },
    {
      name: 'put face 1 MiB (durability full)',
      itemsPerCall: 1,
      vault: () => blob.put(subject('f'), { face: { image } }, ctx),
      baselines: [
        { label: 'raw libsodium encrypt only', op: () => encrypt(sodium.randombytes_buf(NONCE)), target: 0.7 },
        { label: 'raw libsodium encrypt + IMMEDIATE tx: INSERT records row + audit_subjects row + audit row, synchronous=FULL', op: rawBlobPut, target: 0.7 },
      ],
    },
    {
      name: 'get face 1 MiB',
      itemsPerCall: 1,
      vault: () => blob.get('face:get', ['face'], ctx),
      baselines: [
        { label: 'raw libsodium decrypt only', op: () => decrypt(stored, storedNonce), target: 0.7 },
        { label: 'raw IMMEDIATE tx: SELECT + libsodium decrypt + INSERT audit row, synchronous=FULL', op: rawBlobGet, target: 0.7 },
      ],
    },
    {
      name: AUDITED_GET,
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: () => getAudited.get(nextAuditedSubject(), ['location'], ctx),
      baselines: [
        {
          label: 'raw IMMEDIATE tx per call: SELECT the record row + INSERT one audit_log row (same columns/sizes, 32-byte prev_hash/hash), synchronous=FULL',
          op: rawAuditedGet,
          target: 0.5,
        },
      ],
    },
    {
      name: GET_MANY,
      itemsPerCall: MANY_GET,
      warmupCalls: GET_HOT / MANY_GET,
      vault: () => getBatch.getMany(nextBatch(), ctx),
      baselines: [
        {
          label: `raw IMMEDIATE tx: ${MANY_GET} SELECTs + ${MANY_GET} audit-row INSERTs, synchronous=FULL`,
          op: () => {
            rawManyTx.immediate();
          },
        },
      ],
    },
    {
      name: `access decision overhead, durability normal (no fsync per commit, so the CPU cost shows): ${fullPath}`,
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: accessNormal.consented,
      baselines: [{ label: grantOnly, op: accessNormal.exempt, target: 0.9 }],
    },
    {
      name: `access decision overhead, durability full: ${fullPath}`,
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: accessFull.consented,
      baselines: [{ label: grantOnly, op: accessFull.exempt }],
    },
  ];

  // ---- group commit: operations in flight together share a commit (src/store/group-commit.ts) --
  const putGroup = await vault('put-group.db', 'full');
  const getGroup = await vault('get.db', 'full');
  const nextGroupSubject = roundRobin(getSubjects);
  const inFlight = (n: number, op: () => Promise<unknown>): (() => Promise<unknown>) => () => Promise.all(Array.from({ length: n }, op));
  const oneByOne = (n: number, op: () => Promise<unknown>): (() => Promise<void>) => async () => {
    for (let i = 0; i < n; i++) await op();
  };
  const groupPut = () => putGroup.put(subject('gp'), { location }, ctx);
  const groupGet = () => getGroup.get(nextGroupSubject(), ['location'], ctx);
  cases.push(
    {
      name: `${IN_FLIGHT} puts in flight (durability full), values/s`,
      itemsPerCall: IN_FLIGHT,
      vault: inFlight(IN_FLIGHT, groupPut),
      baselines: [{ label: `the same ${IN_FLIGHT} puts awaited one by one (one commit each)`, op: oneByOne(IN_FLIGHT, groupPut), target: 3, targetLabel: '≥ 3× one by one' }],
    },
    {
      name: `${IN_FLIGHT} audited gets in flight (durability full), gets/s`,
      itemsPerCall: IN_FLIGHT,
      warmupCalls: GET_HOT / IN_FLIGHT,
      vault: inFlight(IN_FLIGHT, groupGet),
      baselines: [{ label: `the same ${IN_FLIGHT} gets awaited one by one (one commit each)`, op: oneByOne(IN_FLIGHT, groupGet), target: 3, targetLabel: '≥ 3× one by one' }],
    },
  );

  // ---- a put of a location and a contact against one raw commit of two rows (issue 10) -------
  const putPair = await vault('put-pair.db', 'full');
  await putPair.put(subject('pc'), { location, contact }, ctx);
  const pairSizes = [storedSizes(join(dir, 'put-pair.db'), 'location'), storedSizes(join(dir, 'put-pair.db'), 'contact')];
  const pairBody = rnd.take(pairSizes.reduce((n, z) => n + z.body + z.wrapped, 0));
  const pairLog = rnd.take(lastAuditRowBytes(join(dir, 'put-pair.db'), 'put'));
  const twoRow = raw('raw-two-row.db', 'full');
  twoRow.exec('CREATE TABLE value_rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE TABLE log_rows (id INTEGER PRIMARY KEY, entry BLOB NOT NULL)');
  const twoRowInsert = [twoRow.prepare('INSERT INTO value_rows (body) VALUES (?)'), twoRow.prepare('INSERT INTO log_rows (entry) VALUES (?)')] as const;
  const twoRowTx = twoRow.transaction(() => {
    twoRowInsert[0].run(pairBody);
    twoRowInsert[1].run(pairLog);
  });
  cases.push({
    name: 'put location + contact (durability full), awaited one by one',
    itemsPerCall: 1,
    vault: () => putPair.put(subject('pc'), { location, contact }, ctx),
    baselines: [{ label: 'raw IMMEDIATE tx: one value row of the same bytes + one log row of the entry\'s bytes, synchronous=FULL', op: () => {
      twoRowTx.immediate();
    }, target: 0.7 }],
  });

  const sqliteVersion = (rawGet.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  return {
    cases,
    sqliteVersion,
    notes(rows) {
      const get = rows.find((r) => r.operation === AUDITED_GET);
      const batch = rows.find((r) => r.operation === GET_MANY);
      if (get === undefined || batch === undefined) return [];
      return [
        `getMany ×${MANY_GET}: ${(batch.vaultOpsPerSec / get.vaultOpsPerSec).toFixed(1)}× the subjects/s of one audited get per subject (${Math.round(batch.vaultOpsPerSec).toLocaleString('en-US')} vs ${Math.round(get.vaultOpsPerSec).toLocaleString('en-US')}/s): one commit (one fsync) per ${MANY_GET} audit entries`,
      ];
    },
    async close() {
      for (const v of vaults) await v.close();
      for (const db of raws) db.close();
    },
  };
}
