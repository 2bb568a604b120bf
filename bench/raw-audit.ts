/** Raw baselines over the audit log, run by bench/audit-child.ts. */
import type Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { promises as fs } from 'node:fs';

/** Bytes hashed per entry by the raw chain baseline (an entry's canonical encoding is ~200-230 bytes). */
export const RAW_ENTRY_BYTES = 200;

/**
 * Raw iteration of every audit_log row (all columns, in seq order) with better-sqlite3's
 * `.iterate()`, rows as arrays (`.raw()`, no property names): the floor for anything that reads
 * the whole log. Returns the rows read.
 */
export function rawIterate(db: Database.Database): number {
  let rows = 0;
  for (const row of db.prepare('SELECT * FROM audit_log ORDER BY seq').raw(true).iterate()) {
    if (row === undefined) throw new Error('no row');
    rows++;
  }
  return rows;
}

/**
 * Raw chained BLAKE2b over `count` 200-byte inputs cut from `pool`, with libsodium's
 * crypto_generichash (`await sodium.ready` first): hash = H(prev ‖ H(entry)). Returns `count`.
 */
export function rawChain(count: number, pool: Uint8Array): number {
  const link = new Uint8Array(64);
  let hash: Uint8Array = new Uint8Array(32);
  const span = pool.length - RAW_ENTRY_BYTES;
  for (let i = 0; i < count; i++) {
    const at = (i * RAW_ENTRY_BYTES) % span;
    const digest = sodium.crypto_generichash(32, pool.subarray(at, at + RAW_ENTRY_BYTES), null);
    link.set(hash, 0);
    link.set(digest, 32);
    hash = sodium.crypto_generichash(32, link, null);
  }
  if (hash.length !== 32) throw new Error('bad hash');
  return count;
}

/** Reads a file in 1 MiB chunks and cuts it into line strings (the floor of any line-based reader); returns the lines. */
export async function rawReadLines(path: string): Promise<number> {
  const handle = await fs.open(path, 'r');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  let lines = 0;
  let carry = '';
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (let nl = buffer.indexOf(0x0a, 0); nl !== -1 && nl < bytesRead; nl = buffer.indexOf(0x0a, start)) {
        const line = carry + buffer.toString('latin1', start, nl);
        carry = '';
        if (line.length > 0) lines++;
        start = nl + 1;
      }
      carry += buffer.toString('latin1', start, bytesRead);
    }
  } finally {
    await handle.close();
  }
  return lines + (carry.length > 0 ? 1 : 0);
}
