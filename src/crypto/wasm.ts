/**
 * Direct calls into libsodium's WebAssembly module for the hot primitives (AEAD, BLAKE2b).
 *
 * Why: the libsodium.js wrappers copy every input into fresh heap allocations, return a fresh
 * JavaScript array per output (a typed array over 64 bytes costs ~2-3 µs to allocate here), and
 * free heap copies of keys without zeroing them. Here inputs go into one reusable scratch region,
 * outputs are written straight into the caller's buffer, and the key and plaintext areas of the
 * scratch are zeroed after every call.
 */
import { canonicalLength, writeCanonical, type CanonicalField } from '../format/canonical.js';
import { sodium } from './sodium.js';

/** The Emscripten exports used here (unsigned long long arguments are split into two i32). */
interface SodiumModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _crypto_aead_xchacha20poly1305_ietf_encrypt(c: number, clenP: number, m: number, mlen: number, mlenHi: number, ad: number, adlen: number, adlenHi: number, nsec: number, npub: number, k: number): number;
  _crypto_aead_xchacha20poly1305_ietf_decrypt(m: number, mlenP: number, nsec: number, c: number, clen: number, clenHi: number, ad: number, adlen: number, adlenHi: number, npub: number, k: number): number;
  _crypto_generichash(out: number, outlen: number, input: number, inlen: number, inlenHi: number, key: number, keylen: number): number;
}

function module(): SodiumModule {
  return (sodium() as unknown as { libsodium: SodiumModule }).libsodium;
}

const KEY = 0;
const NONCE = 32;
const DATA = 64;
let scratch = 0;
let scratchSize = 0;

/** A scratch region of at least `size` bytes; grown (and the old one zeroed and freed) on demand. */
function region(m: SodiumModule, size: number): number {
  if (size > scratchSize) {
    if (scratch !== 0) {
      m.HEAPU8.fill(0, scratch, scratch + scratchSize);
      m._free(scratch);
    }
    scratchSize = Math.max(size, 16 * 1024);
    scratch = m._malloc(scratchSize);
    if (scratch === 0) throw new Error('libsodium heap exhausted');
  }
  return scratch;
}

export const AEAD_TAG_BYTES = 16;

/**
 * XChaCha20-Poly1305-IETF encrypt of `plaintext` into `out` (length plaintext + 16).
 * Scratch layout: key(32) nonce(24, padded to 32) aad plaintext ciphertext.
 */
export function aeadEncryptInto(out: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, nonce: Uint8Array, key: Uint8Array): void {
  const m = module();
  const base = region(m, DATA + aad.length + plaintext.length * 2 + AEAD_TAG_BYTES);
  const adP = base + DATA;
  const mP = adP + aad.length;
  const cP = mP + plaintext.length;
  let heap = m.HEAPU8;
  heap.set(key, base + KEY);
  heap.set(nonce, base + NONCE);
  heap.set(aad, adP);
  heap.set(plaintext, mP);
  try {
    m._crypto_aead_xchacha20poly1305_ietf_encrypt(cP, 0, mP, plaintext.length, 0, adP, aad.length, 0, 0, base + NONCE, base + KEY);
    heap = m.HEAPU8; // the heap may have been replaced if memory grew
    out.set(heap.subarray(cP, cP + plaintext.length + AEAD_TAG_BYTES));
  } finally {
    m.HEAPU8.fill(0, base, cP);
  }
}

/**
 * XChaCha20-Poly1305-IETF decrypt of `ciphertext` (with tag) into `out` (length ciphertext - 16).
 * Returns false if it does not authenticate; `out` is then zeroed.
 */
export function aeadDecryptInto(out: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean {
  const m = module();
  const plainLength = ciphertext.length - AEAD_TAG_BYTES;
  const base = region(m, DATA + aad.length + ciphertext.length + plainLength);
  const adP = base + DATA;
  const cP = adP + aad.length;
  const mP = cP + ciphertext.length;
  let heap = m.HEAPU8;
  heap.set(key, base + KEY);
  heap.set(nonce, base + NONCE);
  heap.set(aad, adP);
  heap.set(ciphertext, cP);
  try {
    const rc = m._crypto_aead_xchacha20poly1305_ietf_decrypt(mP, 0, 0, cP, ciphertext.length, 0, adP, aad.length, 0, base + NONCE, base + KEY);
    heap = m.HEAPU8;
    if (rc !== 0) {
      out.fill(0);
      return false;
    }
    out.set(heap.subarray(mP, mP + plainLength));
    return true;
  } finally {
    m.HEAPU8.fill(0, base, mP + plainLength);
  }
}

/**
 * BLAKE2b of `encodeCanonical(domain, fields)` (keyed when `key` is given) into `out`: the encoding
 * is written straight into the heap, never allocated. The hot path of audit chains and subject tags.
 */
export function blake2bCanonicalInto(out: Uint8Array, domain: string, fields: readonly CanonicalField[], key: Uint8Array | null): void {
  const m = module();
  const length = canonicalLength(domain, fields);
  const base = region(m, DATA + length + out.length);
  const inP = base + DATA;
  const outP = inP + length;
  if (key !== null) m.HEAPU8.set(key, base + KEY);
  writeCanonical(m.HEAPU8, inP, domain, fields);
  try {
    if (m._crypto_generichash(outP, out.length, inP, length, 0, key === null ? 0 : base + KEY, key?.length ?? 0) !== 0) {
      throw new Error('crypto_generichash failed');
    }
    const heap = m.HEAPU8;
    for (let i = 0; i < out.length; i++) out[i] = heap[outP + i] ?? 0;
  } finally {
    m.HEAPU8.fill(0, base, outP + out.length);
  }
}

/** BLAKE2b of `input` (keyed when `key` is given) into `out` (16 to 64 bytes). */
export function blake2bInto(out: Uint8Array, input: Uint8Array, key: Uint8Array | null): void {
  const m = module();
  const keyLength = key?.length ?? 0;
  const base = region(m, DATA + input.length + out.length);
  const inP = base + DATA;
  const outP = inP + input.length;
  const heap = m.HEAPU8;
  if (key !== null) heap.set(key, base + KEY);
  heap.set(input, inP);
  try {
    if (m._crypto_generichash(outP, out.length, inP, input.length, 0, key === null ? 0 : base + KEY, keyLength) !== 0) {
      throw new Error('crypto_generichash failed');
    }
    out.set(m.HEAPU8.subarray(outP, outP + out.length));
  } finally {
    m.HEAPU8.fill(0, base, outP + out.length);
  }
}

interface SigningModule {
  _crypto_sign_seed_keypair(pk: number, sk: number, seed: number): number;
  _crypto_sign_detached(sig: number, siglenP: number, m: number, mlen: number, mlenHi: number, sk: number): number;
}

/** Ed25519 key pair from a 32-byte seed, into `publicKey` (32) and `secretKey` (64). */
export function ed25519KeypairInto(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void {
  const m = module() as SodiumModule & SigningModule;
  const base = region(m, DATA + 32 + 64);
  const pkP = base + DATA;
  const skP = pkP + 32;
  m.HEAPU8.set(seed, base + KEY);
  try {
    if (m._crypto_sign_seed_keypair(pkP, skP, base + KEY) !== 0) throw new Error('crypto_sign_seed_keypair failed');
    publicKey.set(m.HEAPU8.subarray(pkP, pkP + 32));
    secretKey.set(m.HEAPU8.subarray(skP, skP + 64));
  } finally {
    m.HEAPU8.fill(0, base, skP + 64);
  }
}

/** Ed25519 detached signature of `message` with a 64-byte secret key, into `signature` (64). */
export function ed25519SignInto(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void {
  const m = module() as SodiumModule & SigningModule;
  const base = region(m, DATA + 64 + message.length + 64);
  const skP = base + DATA;
  const msgP = skP + 64;
  const sigP = msgP + message.length;
  m.HEAPU8.set(secretKey, skP);
  m.HEAPU8.set(message, msgP);
  try {
    if (m._crypto_sign_detached(sigP, 0, msgP, message.length, 0, skP) !== 0) throw new Error('crypto_sign_detached failed');
    signature.set(m.HEAPU8.subarray(sigP, sigP + 64));
  } finally {
    m.HEAPU8.fill(0, base, sigP + 64);
  }
}

interface PwhashModule {
  _crypto_pwhash(out: number, outlen: number, outlenHi: number, passwd: number, passwdlen: number, passwdlenHi: number, salt: number, opslimit: number, opslimitHi: number, memlimit: number, alg: number): number;
}

/**
 * Argon2id (crypto_pwhash) of `password` into `out`. Password and output pass through the zeroed
 * scratch region: the libsodium.js wrapper would leave copies of both — the passphrase and the
 * master key — in freed heap memory. Returns false if libsodium refuses (out of memory, bad costs).
 */
export function argon2idInto(out: Uint8Array, password: Uint8Array, salt: Uint8Array, opsLimit: number, memLimit: number, algorithm: number): boolean {
  const m = module() as SodiumModule & PwhashModule;
  const base = region(m, DATA + password.length + salt.length + out.length);
  const passP = base + DATA;
  const saltP = passP + password.length;
  const outP = saltP + salt.length;
  m.HEAPU8.set(password, passP);
  m.HEAPU8.set(salt, saltP);
  try {
    if (m._crypto_pwhash(outP, out.length, 0, passP, password.length, 0, saltP, opsLimit, 0, memLimit, algorithm) !== 0) return false;
    out.set(m.HEAPU8.subarray(outP, outP + out.length)); // the heap grew: read HEAPU8 anew
    return true;
  } finally {
    m.HEAPU8.fill(0, base, outP + out.length);
    // libsodium's BLAKE2b final step leaves its output (here the key) in a stack buffer it does
    // not zero, and the stack is WebAssembly memory too. A derivation of nothing secret at the
    // least cost takes the same call path from the same stack depth and overwrites that slot.
    m.HEAPU8.fill(0, base, base + DATA + 16 + out.length);
    m._crypto_pwhash(base + DATA + 16, out.length, 0, base, 0, 0, base + DATA, 1, 0, 8192, algorithm);
    m.HEAPU8.fill(0, base, base + DATA + 16 + out.length);
  }
}

interface SecretstreamModule {
  _crypto_secretstream_xchacha20poly1305_statebytes(): number;
  _crypto_secretstream_xchacha20poly1305_init_pull(state: number, header: number, key: number): number;
  _crypto_secretstream_xchacha20poly1305_push(state: number, c: number, clenP: number, m: number, mlen: number, mlenHi: number, ad: number, adlen: number, adlenHi: number, tag: number): number;
  _crypto_secretstream_xchacha20poly1305_pull(state: number, m: number, mlenP: number, tagP: number, c: number, clen: number, clenHi: number, ad: number, adlen: number, adlenHi: number): number;
}

/**
 * Bytes of a secretstream state (libsodium's crypto_secretstream_xchacha20poly1305_state: the
 * 32-byte subkey, a nonce and padding). The state lives in the caller's array between calls and
 * is on the WebAssembly heap only during one, in the zeroed scratch region: the libsodium.js
 * wrapper allocates it on the heap and never frees or zeroes it (a subkey per stream, for good).
 */
export const SECRETSTREAM_STATE_BYTES = 52;
export const SECRETSTREAM_HEADER_BYTES = 24;
export const SECRETSTREAM_ABYTES = 17;
/** The state's slot in the scratch region, rounded up so what follows stays aligned. */
const STATE_SLOT = 64;

function secretstream(): SodiumModule & SecretstreamModule {
  const m = module() as SodiumModule & SecretstreamModule;
  if (m._crypto_secretstream_xchacha20poly1305_statebytes() !== SECRETSTREAM_STATE_BYTES) throw new Error('unexpected secretstream state size');
  return m;
}

/**
 * The state of the stream with `header` under `key`, into `state`; false if refused. This is
 * init_pull, and also init_push once the header is drawn: libsodium's init_push is exactly
 * random header + init_pull, and its randomness through libsodium.js costs ~200 µs a call.
 */
export function secretstreamInitInto(state: Uint8Array, header: Uint8Array, key: Uint8Array): boolean {
  const m = secretstream();
  const base = region(m, DATA + STATE_SLOT + SECRETSTREAM_HEADER_BYTES);
  const stateP = base + DATA;
  const headerP = stateP + STATE_SLOT;
  m.HEAPU8.set(key, base + KEY);
  m.HEAPU8.set(header, headerP);
  try {
    if (m._crypto_secretstream_xchacha20poly1305_init_pull(stateP, headerP, base + KEY) !== 0) return false;
    state.set(m.HEAPU8.subarray(stateP, stateP + SECRETSTREAM_STATE_BYTES));
    return true;
  } finally {
    m.HEAPU8.fill(0, base, headerP + SECRETSTREAM_HEADER_BYTES);
  }
}

/** Encrypts the next `message` of the stream into `out` (message + 17 bytes) with `tag`; advances `state`. */
export function secretstreamPushInto(state: Uint8Array, out: Uint8Array, message: Uint8Array, ad: Uint8Array, tag: number): void {
  const m = secretstream();
  const base = region(m, DATA + STATE_SLOT + ad.length + message.length * 2 + SECRETSTREAM_ABYTES);
  const stateP = base + DATA;
  const adP = stateP + STATE_SLOT;
  const mP = adP + ad.length;
  const cP = mP + message.length;
  const end = cP + message.length + SECRETSTREAM_ABYTES;
  let heap = m.HEAPU8;
  heap.set(state, stateP);
  heap.set(ad, adP);
  heap.set(message, mP);
  try {
    if (m._crypto_secretstream_xchacha20poly1305_push(stateP, cP, 0, mP, message.length, 0, adP, ad.length, 0, tag) !== 0) throw new Error('crypto_secretstream push failed');
    heap = m.HEAPU8;
    out.set(heap.subarray(cP, end));
    state.set(heap.subarray(stateP, stateP + SECRETSTREAM_STATE_BYTES));
  } finally {
    m.HEAPU8.fill(0, base, end);
  }
}

/**
 * Decrypts the next `ciphertext` of the stream into `out` (ciphertext − 17 bytes) and advances
 * `state`; returns the chunk's tag, or -1 if it does not authenticate (`out` is then zeroed).
 */
export function secretstreamPullInto(state: Uint8Array, out: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): number {
  const m = secretstream();
  const plainLength = ciphertext.length - SECRETSTREAM_ABYTES;
  if (plainLength < 0 || out.length !== plainLength) return -1;
  const base = region(m, DATA + STATE_SLOT + ad.length + ciphertext.length + plainLength + 1);
  const stateP = base + DATA;
  const adP = stateP + STATE_SLOT;
  const cP = adP + ad.length;
  const mP = cP + ciphertext.length;
  const tagP = mP + plainLength;
  let heap = m.HEAPU8;
  heap.set(state, stateP);
  heap.set(ad, adP);
  heap.set(ciphertext, cP);
  try {
    if (m._crypto_secretstream_xchacha20poly1305_pull(stateP, mP, 0, tagP, cP, ciphertext.length, 0, adP, ad.length, 0) !== 0) {
      out.fill(0);
      return -1;
    }
    heap = m.HEAPU8;
    out.set(heap.subarray(mP, mP + plainLength));
    state.set(heap.subarray(stateP, stateP + SECRETSTREAM_STATE_BYTES));
    return heap[tagP] ?? -1;
  } finally {
    m.HEAPU8.fill(0, base, tagP + 1);
  }
}
