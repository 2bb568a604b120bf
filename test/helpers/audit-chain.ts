/**
 * A real audit chain without a database, for tests of the export writer and the file verifier:
 * entries built by `toEntry`/`entryDigest`/`chainHash` from `genesisHash`, checkpoints signed with
 * a real Ed25519 key over `checkpointMessage` — exactly what AuditLog writes. Call `loadSodium()`
 * first.
 */
import { Writable } from 'node:stream';
import { SecretBytes } from '../../src/crypto/secret-bytes.js';
import { sign, signingKeyFromSeed, type SigningKey } from '../../src/crypto/signing.js';
import { chainHash, checkpointMessage, entryDigest, genesisHash, toEntry, type AuditEntry, type AuditRecord } from '../../src/audit/entry.js';
import type { ExportSource } from '../../src/audit/export.js';
import type { CheckpointRow } from '../../src/store/audit-repository.js';

export const T0 = Date.parse('2026-11-27T10:00:00.000Z');

/** A signing key from a fixed seed byte (deterministic across runs). */
export function testSigningKey(seedByte = 7): SigningKey {
  return signingKeyFromSeed(new SecretBytes(new Uint8Array(32).fill(seedByte)));
}

/** A pseudonym (32 bytes) for subject number `n`. */
export function pseudonym(n: number): Uint8Array {
  const p = new Uint8Array(32);
  p[0] = 0xa0;
  p[31] = n & 0xff;
  p[30] = (n >>> 8) & 0xff;
  return p;
}

const ACTORS = ['svc:profile', 'svc:map', 'cli:officer', 'svc:import'];
const ACTIONS = ['put', 'get', 'get', 'import', 'erase', 'status'] as const;
const CATEGORIES = [[], ['location'], ['contact', 'location'], ['face'], ['voice', 'face']];

/** A varied, deterministic record for position `i` (1-based), one second apart from T0. */
export function sampleRecord(i: number): AuditRecord {
  const outcome = i % 17 === 0 ? 'denied' : i % 23 === 0 ? 'error' : 'allowed';
  return {
    ts: T0 + i * 1000,
    actor: ACTORS[i % ACTORS.length] ?? 'svc:x',
    role: i % 5 === 0 ? 'officer' : 'service',
    purpose: i % 3 === 0 ? 'account' : 'safety',
    action: ACTIONS[i % ACTIONS.length] ?? 'get',
    subject: i % 7 === 0 ? null : pseudonym(i % 10),
    categories: CATEGORIES[i % CATEGORIES.length] ?? [],
    outcome,
    reason: outcome === 'denied' ? 'POLICY' : outcome === 'error' ? 'VALIDATION' : null,
    approval: i % 11 === 0 ? `apr-${i},"x"\r\nsecond line` : null,
    consent: i % 13 === 0 ? `cns-${i}` : null,
    requestId: i % 4 === 0 ? `req-${i}` : null,
    detail: i % 2 === 0 ? { returned: i % 5, note: 'a,"quoted"\nlabel' } : i % 3 === 0 ? { big: Number.MAX_SAFE_INTEGER, ok: true } : null,
  };
}

export interface TestChain {
  readonly vaultId: Uint8Array;
  readonly genesis: Uint8Array;
  readonly key: SigningKey;
  readonly every: number;
  readonly entries: AuditEntry[];
  readonly checkpoints: CheckpointRow[];
  /** An export source over the chain up to `head` (default: the last entry). */
  source(head?: number): ExportSource;
}

/**
 * A chain of `records` (or `n` sample records), with the genesis checkpoint (seq 0), a checkpoint
 * every `checkpointEvery` entries and one at the last entry (as an export signs) — as AuditLog does.
 */
export function buildChain(records: number | readonly AuditRecord[], options: { checkpointEvery?: number; vaultIdByte?: number; key?: SigningKey } = {}): TestChain {
  const vaultId = new Uint8Array(16).fill(options.vaultIdByte ?? 0x42);
  const key = options.key ?? testSigningKey();
  const every = options.checkpointEvery ?? 1000;
  const genesis = genesisHash(vaultId);
  const list = typeof records === 'number' ? Array.from({ length: records }, (_, i) => sampleRecord(i + 1)) : records;
  const entries: AuditEntry[] = [];
  const checkpoints: CheckpointRow[] = [];
  let prev = genesis;
  checkpoints.push({ seq: 0, ts: T0, hash: genesis, signature: sign(key, checkpointMessage(vaultId, 0, genesis, T0, every)) });
  let last = 0;
  list.forEach((record, i) => {
    const unhashed = toEntry(i + 1, record);
    const hash = chainHash(prev, entryDigest(unhashed));
    entries.push({ ...unhashed, prevHash: prev, hash });
    prev = hash;
    if (i + 1 - last >= every || i + 1 === list.length) {
      const ts = record.ts + 1;
      checkpoints.push({ seq: i + 1, ts, hash, signature: sign(key, checkpointMessage(vaultId, i + 1, hash, ts, every)) });
      last = i + 1;
    }
  });
  return {
    vaultId,
    genesis,
    key,
    every,
    entries,
    checkpoints,
    source: (head = entries.length) => ({
      vaultId,
      publicKey: key.publicKey,
      genesis,
      head,
      checkpointEvery: every,
      seal: (message) => sign(key, message),
      // entries[i] has seq i + 1.
      pageEntries: (after, until, limit) => entries.slice(after, Math.min(until, after + limit)),
      pageCheckpoints: (after, until, limit) => checkpoints.filter((c) => c.seq > after && c.seq <= until).slice(0, limit),
    }),
  };
}

/** A writable stream that keeps what it receives (with a small buffer, so backpressure happens). */
export function collector(): { stream: Writable; text(): string; writes: number } {
  const chunks: Buffer[] = [];
  const state = { writes: 0 };
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      state.writes++;
      setImmediate(callback);
    },
  });
  return {
    stream,
    text: () => Buffer.concat(chunks).toString('utf8'),
    get writes() {
      return state.writes;
    },
  };
}
