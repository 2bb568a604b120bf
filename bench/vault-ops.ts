/**
 * The benchmark cases: each vault operation beside raw better-sqlite3 / libsodium doing the same
 * storage (or crypto) work with the vault's pragmas and table shapes, in its own files under `dir`.
 * Every put writes a new subject on both sides, so neither side pays for replacing an old value.
 */
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyFile, keyFile, openVault, type AccessContext, type Durability } from '../src/index.js';
import type { BenchCase } from './harness.js';

type RawDatabase = Database.Database;
type BenchVault = Awaited<ReturnType<typeof openVault>>;

const ctx: AccessContext = { actor: 'svc:bench', role: 'service', purpose: 'bench' };
const location = { lat: 30.274085, lon: 120.15507, accuracyM: 12.5, capturedAt: '2024-05-01T08:30:00.000Z' };
const BATCH = 500;
/** Subjects stored for the get cases, and the hot set read (smaller than the default key cache of 1024). */
const GET_SUBJECTS = 5000;
const GET_HOT = 1000;
const MIGRATION = new URL('../migrations/0001_init.sql', import.meta.url);

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

/** The vault's own schema (same tables, indexes and foreign keys) with one active KEK row. */
function createVaultTables(db: RawDatabase): void {
  db.exec(readFileSync(MIGRATION, 'utf8'));
  db.prepare("INSERT INTO keks (version, state, wrapped, created_at) VALUES (1, 'active', ?, ?)").run(Buffer.alloc(73), Date.now());
}

/**
 * INSERT into the vault's `records` table with the columns the current migrations define (read
 * from the schema, so the baseline follows schema changes); values bound by position.
 */
function recordInsert(db: RawDatabase): (row: Readonly<Record<string, unknown>>) => void {
  const columns = (db.prepare("SELECT name FROM pragma_table_info('records')").all() as { name: string }[]).map((c) => c.name);
  const insert = db.prepare(`INSERT INTO records (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  return (row) => {
    insert.run(columns.map((c) => {
      if (!(c in row)) throw new Error(`bench: no value for records.${c}; update bench/vault-ops.ts`);
      return row[c];
    }));
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

export interface Suite {
  readonly cases: BenchCase[];
  readonly sqliteVersion: string;
  close(): Promise<void>;
}

export async function createSuite(dir: string): Promise<Suite> {
  await sodium.ready;
  const keyPath = join(dir, 'master.key');
  (await generateKeyFile(keyPath)).close?.();
  const vaults: BenchVault[] = [];
  const raws: RawDatabase[] = [];
  const vault = async (name: string, durability: Durability, dataKeyCacheSize?: number): Promise<BenchVault> => {
    const v = await openVault({ path: join(dir, name), masterKey: keyFile(keyPath), durability, ...(dataKeyCacheSize === undefined ? {} : { dataKeyCacheSize }) });
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
  const small = storedSizes(join(dir, 'put-full.db'), 'location');
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
  });
  // Single-row baseline: the same row in the vault's own table, one commit per insert.
  const rawPut = (durability: Durability): (() => void) => {
    const db = raw(`raw-put-${durability}.db`, durability);
    createVaultTables(db);
    const insert = recordInsert(db);
    return () => {
      insert(rawRow(Date.now(), Buffer.from(rnd.take(32))));
    };
  };

  // ---- putMany: the vault's exact rows, without crypto ---------------------------------------
  const many = await vault('put-many.db', 'full');
  const manyItems = () => Array.from({ length: BATCH }, () => ({ subject: subject('m'), values: { location } }));
  const rawRows = (db: RawDatabase): ((count: number) => Buffer[]) => {
    createVaultTables(db);
    const insertRecord = recordInsert(db);
    const batch = db.transaction((count: number): Buffer[] => {
      const now = Date.now();
      const tags: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const tag = Buffer.from(rnd.take(32));
        insertRecord(rawRow(now, tag));
        tags.push(tag);
      }
      return tags;
    });
    return (count) => batch.immediate(count);
  };
  const rawMany = rawRows(raw('raw-many.db', 'full'));

  // ---- get: 5000 subjects stored, a hot set of 1000 read round-robin ---------------------------
  const getSubjects: string[] = [];
  {
    const loader = await openVault({ path: join(dir, 'get.db'), masterKey: keyFile(keyPath) });
    for (let i = 0; i < GET_SUBJECTS; i += BATCH) {
      const items = Array.from({ length: BATCH }, () => ({ subject: subject('g'), values: { location } }));
      getSubjects.push(...items.map((it) => it.subject));
      await loader.putMany(items, ctx);
    }
    await loader.close();
  }
  const getWarm = await vault('get.db', 'full');
  const getCold = await vault('get.db', 'full', 0);
  const rawGetDb = raw('raw-get.db', 'full');
  const rawGetTags: Buffer[] = [];
  {
    const load = rawRows(rawGetDb);
    for (let i = 0; i < GET_SUBJECTS; i += BATCH) rawGetTags.push(...load(BATCH));
  }
  // The vault's lookup (src/store/record-repository.ts).
  const rawFind = rawGetDb.prepare(`SELECT category, dek_id, kek_version, wrapped_dek, format, body, chunk_count, plaintext_bytes, written_at
    FROM records WHERE subject_tag = ? AND category = ?`);
  const roundRobin = <T>(list: readonly T[]): (() => T) => {
    let i = 0;
    return () => list[i++ % GET_HOT]!;
  };
  const nextGetSubject = roundRobin(getSubjects);
  const nextColdSubject = roundRobin(getSubjects);
  const nextRawTag = roundRobin(rawGetTags);
  const rawGet = () => {
    if (rawFind.get(nextRawTag(), 'location') === undefined) throw new Error('raw row missing');
  };

  // ---- 1 MiB face image ---------------------------------------------------------------------
  const image = randomFillSync(new Uint8Array(1024 * 1024));
  const blob = await vault('blob.db', 'full');
  await blob.put('face:get', { face: { image } }, ctx);
  const key = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
  const NONCE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  // The raw sides keep the nonce beside the ciphertext (not copied into one buffer), the cheapest
  // way to use the AEAD, so these baselines are a lower bound on what an application would pay.
  const encrypt = (nonce: Uint8Array): Uint8Array => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(image, null, null, nonce, key);
  const decrypt = (ciphertext: Uint8Array, nonce: Uint8Array): Uint8Array =>
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, null, nonce, key);
  const rawBlobDb = raw('raw-blob.db', 'full');
  createVaultTables(rawBlobDb);
  const insertBlob = recordInsert(rawBlobDb);
  const rawBlobPut = () => {
    insertBlob(rawRow(Date.now(), Buffer.from(rnd.take(32)), encrypt(sodium.randombytes_buf(NONCE)), image.length));
  };
  const storedNonce = sodium.randombytes_buf(NONCE);
  const stored = encrypt(storedNonce);
  const blobTag = Buffer.from(rnd.take(32));
  insertBlob(rawRow(Date.now(), blobTag, stored, image.length));
  const selectBlob = rawBlobDb.prepare("SELECT body FROM records WHERE subject_tag = ? AND category = 'location'");
  const rawBlobGet = () => {
    const row = selectBlob.get(blobTag) as { body: Uint8Array } | undefined;
    if (row === undefined || decrypt(row.body, storedNonce).length !== image.length) throw new Error('raw blob missing');
  };

  const cases: BenchCase[] = [
    {
      name: 'put location (durability full)',
      itemsPerCall: 1,
      vault: () => putFull.put(subject('p'), { location }, ctx),
      baselines: [{ label: 'raw INSERT of the same row, synchronous=FULL', op: rawPut('full'), target: 0.7 }],
    },
    {
      name: 'put location (durability normal)',
      itemsPerCall: 1,
      vault: () => putNormal.put(subject('n'), { location }, ctx),
      baselines: [{ label: 'raw INSERT of the same row, synchronous=NORMAL', op: rawPut('normal') }],
    },
    {
      name: `putMany ×${BATCH} location, records/s`,
      itemsPerCall: BATCH,
      vault: () => many.putMany(manyItems(), ctx),
      baselines: [{ label: 'raw tx of the same records rows', op: () => rawMany(BATCH), target: 0.5 }],
    },
    {
      name: 'get location (key cache warm)',
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: () => getWarm.get(nextGetSubject(), ['location'], ctx),
      baselines: [{ label: 'raw SELECT … JOIN by (tag, category)', op: rawGet, target: 0.6 }],
    },
    {
      name: 'get location (key cache off)',
      itemsPerCall: 1,
      warmupCalls: GET_HOT,
      vault: () => getCold.get(nextColdSubject(), ['location'], ctx),
      baselines: [{ label: 'raw SELECT … JOIN by (tag, category)', op: rawGet, target: 0.6 }],
    },
    {
      name: 'put face 1 MiB (durability full)',
      itemsPerCall: 1,
      vault: () => blob.put(subject('f'), { face: { image } }, ctx),
      baselines: [
        { label: 'raw libsodium encrypt only', op: () => encrypt(sodium.randombytes_buf(NONCE)), target: 0.7 },
        { label: 'raw libsodium encrypt + INSERT, synchronous=FULL', op: rawBlobPut, target: 0.7 },
      ],
    },
    {
      name: 'get face 1 MiB',
      itemsPerCall: 1,
      vault: () => blob.get('face:get', ['face'], ctx),
      baselines: [
        { label: 'raw libsodium decrypt only', op: () => decrypt(stored, storedNonce), target: 0.7 },
        { label: 'raw SELECT + libsodium decrypt', op: rawBlobGet, target: 0.7 },
      ],
    },
  ];

  const sqliteVersion = (rawGetDb.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  return {
    cases,
    sqliteVersion,
    async close() {
      for (const v of vaults) await v.close();
      for (const db of raws) db.close();
    },
  };
}
