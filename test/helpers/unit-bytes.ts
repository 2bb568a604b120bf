/** Byte helpers for unit tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Lower-case hex of `bytes` (respecting subarray offsets). */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hex string; throws on odd length or non-hex characters (a broken vector file). */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(text)) throw new Error(`not a hex string: ${text.slice(0, 16)}…`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Concatenation of `parts`. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A copy of `bytes` with byte `index` XORed with `mask`. */
export function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] ?? 0) ^ mask;
  return out;
}

/** A fresh temporary directory for one test; remove it with `removeTempDir`. */
export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'childvault-unit-'));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
