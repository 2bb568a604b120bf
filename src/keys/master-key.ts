/**
 * Master-key providers. The master key wraps the vault's key-encryption keys and never touches
 * the vault file. A provider is anything that can wrap and unwrap with AAD, so a KMS or HSM can
 * hold the key; the built-in ones hold a 32-byte key in memory from `attach` until `close`.
 */
import { constants, promises as fs } from 'node:fs';
import { inspect } from 'node:util';
import { open as aeadOpen, seal as aeadSeal } from '../crypto/aead.js';
import { ARGON2ID_MIN_MEM_LIMIT, ARGON2ID_MIN_OPS_LIMIT, ARGON2ID_SALT_BYTES, defaultArgon2idLimits, deriveArgon2id } from '../crypto/password-hash.js';
import { fillRandom, randomBytes } from '../crypto/random.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { VaultError } from '../errors.js';
import { z } from 'zod';
import { parseOrThrow } from '../schema/zod-errors.js';

/**
 * Holds the master key, or talks to whatever holds it.
 *
 * @example A KMS-backed provider
 * ```ts
 * const kms: MasterKeyProvider = {
 *   id: 'kms:arn:aws:kms:eu-west-1:111122223333:key/abcd',
 *   wrap: (key, aad) => myKms.encrypt(key, aad),
 *   unwrap: (wrapped, aad) => myKms.decrypt(wrapped, aad),
 * };
 * const vault = await openVault({ path: 'pool.db', masterKey: kms, create: true });
 * ```
 */
export interface MasterKeyProvider {
  /**
   * The kind of master key, stored in the vault so that opening it with another kind is
   * reported clearly. Two providers with the same id must be interchangeable when they hold
   * the same key (a key file and the same key in an environment variable share `raw-key`).
   */
  readonly id: string;
  /**
   * Called when a vault is opened, with the parameters this provider asked the vault to keep
   * (null for a new vault); returns the parameters to keep. May be called again with the
   * stored parameters if another process created the vault first.
   */
  attach?(stored: string | null): Promise<string | null>;
  /** Encrypts `key` (32 bytes), authenticating `aad`. */
  wrap(key: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Decrypts what `wrap` produced for the same `aad`; must throw if it does not authenticate. */
  unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Forgets any key material held in memory. The vault calls it on close. */
  close?(): void;
}

export const MASTER_KEY_BYTES = 32;
export const RAW_KEY_PROVIDER_ID = 'raw-key';
export const PASSPHRASE_PROVIDER_ID = 'passphrase';

/**
 * A provider that holds the master key in memory and wraps with XChaCha20-Poly1305. Everything it
 * holds is in `#` fields, and it shows itself only as `[MasterKeyProvider <id>]` in `String()`,
 * `util.inspect` / `console.log` and `JSON.stringify`: no key, passphrase or path can reach a log.
 */
abstract class InMemoryKeyProvider implements MasterKeyProvider {
  abstract readonly id: string;
  #key: SecretBytes | undefined;

  abstract attach(stored: string | null): Promise<string | null>;

  protected held(): SecretBytes {
    if (this.#key === undefined || this.#key.wiped) throw new VaultError('MASTER_KEY_UNAVAILABLE', 'the master key provider is not attached to an open vault');
    return this.#key;
  }

  /** True while a key is held (between attach and close). */
  protected holds(): boolean {
    return this.#key !== undefined && !this.#key.wiped;
  }

  protected hold(key: SecretBytes): void {
    this.#key?.wipe();
    this.#key = key;
  }

  async wrap(key: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aeadSeal(this.held(), key, aad);
  }

  async unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aeadOpen(this.held(), wrapped, aad, 'master-wrapped key');
  }

  close(): void {
    this.#key?.wipe();
    this.#key = undefined;
  }

  toString(): string {
    return `[MasterKeyProvider ${this.id}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Refuses a key file that is not a regular file or that group or others may read or write. */
async function readKeyFile(path: string): Promise<SecretBytes> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: a FIFO must not hang the open; it is refused below as not a regular file.
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code === 'ELOOP' ? 'is a symbolic link (give the real path)' : `cannot be opened (${code ?? 'error'})`;
    throw new VaultError('MASTER_KEY_UNAVAILABLE', `key file ${path} ${why}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new VaultError('INSECURE_KEY_FILE', `key file ${path} is not a regular file`);
    const loose = stat.mode & 0o077;
    if (loose !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new VaultError('INSECURE_KEY_FILE', `key file ${path} has mode ${mode}: group or others can access it; run \`chmod 600 ${path}\``);
    }
    if (stat.size !== MASTER_KEY_BYTES) {
      throw new VaultError('MASTER_KEY_UNAVAILABLE', `key file ${path} must hold exactly ${MASTER_KEY_BYTES} bytes (it holds ${stat.size}); create one with \`childvault init --new-key-file\``);
    }
    const bytes = new Uint8Array(MASTER_KEY_BYTES);
    const { bytesRead } = await handle.read(bytes, 0, MASTER_KEY_BYTES, 0);
    if (bytesRead !== MASTER_KEY_BYTES) {
      bytes.fill(0);
      throw new VaultError('MASTER_KEY_UNAVAILABLE', `key file ${path} could not be read completely`);
    }
    return new SecretBytes(bytes);
  } finally {
    await handle.close();
  }
}

class KeyFileProvider extends InMemoryKeyProvider {
  readonly id = RAW_KEY_PROVIDER_ID;
  readonly #path: string;
  constructor(path: string) {
    super();
    this.#path = path;
  }
  async attach(): Promise<null> {
    this.hold(await readKeyFile(this.#path));
    return null;
  }
}

/**
 * The master key is the 32 raw bytes of a file that only its owner can read (mode 0600; looser
 * modes are refused). The file is read when a vault is opened.
 */
export function keyFile(path: string): MasterKeyProvider {
  return new KeyFileProvider(path);
}

/**
 * Creates a key file of 32 random bytes with mode 0600 and returns its provider. Refuses to
 * overwrite an existing file (CONFLICT): losing a master key loses every value under it.
 */
export async function generateKeyFile(path: string): Promise<MasterKeyProvider> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new VaultError('CONFLICT', `key file ${path} already exists; refusing to overwrite a master key`);
    throw new VaultError('MASTER_KEY_UNAVAILABLE', `key file ${path} cannot be created (${code ?? 'error'})`);
  }
  const bytes = randomBytes(MASTER_KEY_BYTES);
  try {
    await handle.chmod(0o600);
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.sync();
  } finally {
    bytes.fill(0);
    await handle.close();
  }
  return new KeyFileProvider(path);
}

/** Variables this process has read a master key from (and removed from its environment). */
const consumedVariables = new Set<string>();

/**
 * Decodes base64 (or base64url) text of exactly MASTER_KEY_BYTES bytes straight into a fresh array
 * that the returned holder owns. Not `Buffer.from(text, 'base64')`: a result that small is a slice
 * of Node's shared Buffer pool, which is never zeroed and is handed out again to other code.
 */
function decodeKey(text: string, source: string): SecretBytes {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new VaultError('MASTER_KEY_UNAVAILABLE', `${source} is not valid base64`);
  let digits = text.length;
  while (text.charCodeAt(digits - 1) === 0x3d) digits--; // '='
  const length = Math.floor((digits * 3) / 4);
  if (length !== MASTER_KEY_BYTES) throw new VaultError('MASTER_KEY_UNAVAILABLE', `${source} must hold exactly ${MASTER_KEY_BYTES} bytes of key (it holds ${length})`);
  const bytes = new Uint8Array(MASTER_KEY_BYTES);
  // A view of `bytes` (no copy), so the decoder writes into memory the holder will wipe.
  const written = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(text, 'base64');
  if (written !== MASTER_KEY_BYTES) {
    bytes.fill(0);
    throw new VaultError('MASTER_KEY_UNAVAILABLE', `${source} is not valid base64`);
  }
  return new SecretBytes(bytes);
}

class EnvKeyProvider extends InMemoryKeyProvider {
  readonly id = RAW_KEY_PROVIDER_ID;
  readonly #name: string;
  constructor(name: string) {
    super();
    this.#name = name;
  }
  async attach(): Promise<null> {
    // Called again during one open (another process created the vault first): the key is held.
    if (this.holds()) return null;
    const name = this.#name;
    const text = process.env[name];
    // Removed before anything else: every child process would inherit it, and a refused value is
    // no less secret than an accepted one.
    Reflect.deleteProperty(process.env, name);
    if (text === undefined || text.trim() === '') {
      if (consumedVariables.has(name)) {
        throw new VaultError('MASTER_KEY_UNAVAILABLE', `environment variable ${name} is not set: it was consumed by an earlier open in this process (it is removed from the environment once read); keep one vault open and share it, or use keyFile()`);
      }
      throw new VaultError('MASTER_KEY_UNAVAILABLE', `environment variable ${name} is not set; it must hold the base64 master key`);
    }
    consumedVariables.add(name);
    this.hold(decodeKey(text.trim(), `environment variable ${name}`));
    return null;
  }
}

/**
 * The master key is base64 (32 bytes) in an environment variable, read when a vault is opened.
 * The variable is removed from the environment once read (`process.env`, so no child process
 * inherits it): a second `openVault` in the same process with a new `envKey()` of the same name
 * fails with MASTER_KEY_UNAVAILABLE saying an earlier open consumed it. Keep one vault open and
 * share it, or use `keyFile`.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: 'pool.db', masterKey: envKey(), create: true }); // CHILDVAULT_MASTER_KEY
 * ```
 */
export function envKey(name = 'CHILDVAULT_MASTER_KEY'): MasterKeyProvider {
  return new EnvKeyProvider(name);
}

/**
 * Argon2id parameters as stored in a vault. Lenient on purpose: a vault created with lower costs
 * (before the floor of `passphraseKey`) must still open.
 */
const argon2idParamsSchema = z.object({
  kdf: z.literal('argon2id13'),
  salt: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
  opsLimit: z.number().int().min(1).max(64),
  memLimit: z.number().int().min(8 * 1024 * 1024).max(1024 * 1024 * 1024),
});

/** Costs a new passphrase vault may be given: at least libsodium's INTERACTIVE (2 passes, 64 MiB). */
const newArgon2idLimitsSchema = z.strictObject({
  opsLimit: z.number().int().min(ARGON2ID_MIN_OPS_LIMIT).max(64).optional(),
  memLimit: z.number().int().min(ARGON2ID_MIN_MEM_LIMIT).max(1024 * 1024 * 1024).optional(),
});

export interface PassphraseOptions {
  /** Argon2id passes for a new vault (default 3, libsodium MODERATE; at least 2). */
  readonly opsLimit?: number;
  /** Argon2id memory in bytes for a new vault (default 256 MiB, libsodium MODERATE; at least 64 MiB). */
  readonly memLimit?: number;
}

class PassphraseProvider extends InMemoryKeyProvider {
  readonly id = PASSPHRASE_PROVIDER_ID;
  /** The passphrase as UTF-8 bytes, wiped on close. */
  #passphrase: SecretBytes | undefined;
  readonly #options: { readonly opsLimit?: number | undefined; readonly memLimit?: number | undefined };

  constructor(passphrase: SecretBytes, options: { readonly opsLimit?: number | undefined; readonly memLimit?: number | undefined }) {
    super();
    this.#passphrase = passphrase;
    this.#options = { ...options };
  }

  async attach(stored: string | null): Promise<string> {
    const passphrase = this.#passphrase;
    if (passphrase === undefined || passphrase.wiped) {
      throw new VaultError('MASTER_KEY_UNAVAILABLE', 'this passphraseKey() was closed (its vault closed or failed to open), which wiped the passphrase; make a new one to open the vault again');
    }
    let params: z.infer<typeof argon2idParamsSchema>;
    if (stored === null) {
      const defaults = defaultArgon2idLimits();
      params = {
        kdf: 'argon2id13',
        salt: Buffer.from(fillRandom(new Uint8Array(ARGON2ID_SALT_BYTES))).toString('base64'),
        opsLimit: this.#options.opsLimit ?? defaults.opsLimit,
        memLimit: this.#options.memLimit ?? defaults.memLimit,
      };
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(stored);
      } catch {
        parsed = undefined;
      }
      const result = argon2idParamsSchema.safeParse(parsed);
      if (!result.success) throw new VaultError('CORRUPT', 'the passphrase parameters stored in the vault are malformed');
      params = result.data;
    }
    const salt = new Uint8Array(Buffer.from(params.salt, 'base64'));
    if (salt.length !== ARGON2ID_SALT_BYTES) throw new VaultError('CORRUPT', 'the passphrase salt stored in the vault has the wrong length');
    this.hold(deriveArgon2id(passphrase, { salt, opsLimit: params.opsLimit, memLimit: params.memLimit }));
    return JSON.stringify(params);
  }

  override close(): void {
    super.close();
    this.#passphrase?.wipe();
    this.#passphrase = undefined;
  }
}

/**
 * The master key is derived from a passphrase with Argon2id; the salt and cost parameters are
 * kept in the vault (they are not secret). Refuses passphrases shorter than 12 characters, and
 * costs below libsodium's INTERACTIVE (`opsLimit` 2, `memLimit` 64 MiB) for a new vault; a vault
 * opens with whatever costs it stored. The passphrase is kept as bytes in a zeroable holder until
 * `close()` (which the vault calls when it closes): the provider cannot be reused after that.
 * It never shows the passphrase (`String()`, `util.inspect`, `JSON.stringify` print
 * `[MasterKeyProvider passphrase]`).
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: 'pool.db', masterKey: passphraseKey(process.env.PASS ?? ''), create: true });
 * ```
 */
export function passphraseKey(passphrase: string, options: PassphraseOptions = {}): MasterKeyProvider {
  if (typeof passphrase !== 'string' || passphrase.length < 12) {
    throw new VaultError('VALIDATION', 'passphrase must be at least 12 characters', { field: 'passphrase' });
  }
  const limits = parseOrThrow(newArgon2idLimitsSchema, options, 'options');
  // TextEncoder gives a fresh array of its own (not a slice of Node's shared Buffer pool).
  return new PassphraseProvider(new SecretBytes(new TextEncoder().encode(passphrase)), limits);
}
