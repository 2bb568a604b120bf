import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Console } from 'node:console';
import { format, inspect } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ARGON2ID_MIN_MEM_LIMIT, ARGON2ID_MIN_OPS_LIMIT } from '../../../src/crypto/password-hash.js';
import { loadSodium, sodium } from '../../../src/crypto/sodium.js';
import { VaultError } from '../../../src/errors.js';
import {
  MASTER_KEY_BYTES,
  PASSPHRASE_PROVIDER_ID,
  RAW_KEY_PROVIDER_ID,
  envKey,
  generateKeyFile,
  keyFile,
  passphraseKey,
  type MasterKeyProvider,
} from '../../../src/keys/master-key.js';
import { hex, makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';
import { expectVaultError, expectVaultRejection } from '../../helpers/unit-errors.js';

const MiB = 1024 * 1024;
/** The cheapest costs a new passphrase vault accepts (libsodium INTERACTIVE). */
const FAST = { opsLimit: 2, memLimit: 64 * MiB } as const;
const PASSPHRASE = 'correct horse battery staple';
const KEY = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
const AAD = new TextEncoder().encode('childvault/kek test');

let dir: string;

beforeAll(async () => {
  await loadSodium();
});

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(() => {
  removeTempDir(dir);
});

function writeKey(name: string, bytes: Uint8Array, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, bytes, { mode });
  chmodSync(path, mode); // independent of the umask
  return path;
}

async function attach(provider: MasterKeyProvider, stored: string | null = null): Promise<string | null> {
  if (provider.attach === undefined) throw new Error('provider has no attach');
  return provider.attach(stored);
}

/** Both providers hold the same key: what one wraps, the other unwraps. */
async function expectSameKey(a: MasterKeyProvider, b: MasterKeyProvider): Promise<void> {
  const secret = new Uint8Array(32).fill(0x5a);
  expect(hex(await b.unwrap(await a.wrap(secret, AAD), AAD))).toBe(hex(secret));
}

describe('keyFile', () => {
  it('reads a 32-byte file of mode 0600 and wraps and unwraps with it', async () => {
    const provider = keyFile(writeKey('master.key', KEY, 0o600));
    expect(provider.id).toBe(RAW_KEY_PROVIDER_ID);
    expect(await attach(provider)).toBeNull();
    const wrapped = await provider.wrap(new Uint8Array(32).fill(1), AAD);
    expect(hex(await provider.unwrap(wrapped, AAD))).toBe(hex(new Uint8Array(32).fill(1)));
  });

  it('accepts mode 0400', async () => {
    await attach(keyFile(writeKey('master.key', KEY, 0o400)));
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o606, 0o601])('refuses mode %s with INSECURE_KEY_FILE and says to chmod 600', async (mode) => {
    const path = writeKey('master.key', KEY, mode);
    const error = await expectVaultRejection(attach(keyFile(path)), 'INSECURE_KEY_FILE');
    expect(error.message).toContain(`chmod 600 ${path}`);
    expect(error.message).toContain(`mode ${mode.toString(8).padStart(4, '0')}`);
    expect(error.message).not.toContain(hex(KEY));
  });

  it('refuses a symbolic link, even to a good key file, with MASTER_KEY_UNAVAILABLE', async () => {
    const target = writeKey('real.key', KEY, 0o600);
    const link = join(dir, 'link.key');
    symlinkSync(target, link);
    const error = await expectVaultRejection(attach(keyFile(link)), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain('symbolic link');
  });

  it('refuses a directory with INSECURE_KEY_FILE (not a regular file)', async () => {
    const path = join(dir, 'keydir');
    mkdirSync(path, { mode: 0o700 });
    const error = await expectVaultRejection(attach(keyFile(path)), 'INSECURE_KEY_FILE');
    expect(error.message).toContain('not a regular file');
  });

  it.each([0, 31, 33, 64])('refuses a file of %i bytes with MASTER_KEY_UNAVAILABLE naming the expected size', async (size) => {
    const path = writeKey('master.key', new Uint8Array(size).fill(7), 0o600);
    const error = await expectVaultRejection(attach(keyFile(path)), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain('exactly 32 bytes');
    expect(error.message).toContain(`holds ${size}`);
  });

  it('refuses a missing file with MASTER_KEY_UNAVAILABLE', async () => {
    const error = await expectVaultRejection(attach(keyFile(join(dir, 'nope.key'))), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain('does not exist');
  });

  it('shares its id with envKey and interoperates with it for the same key', async () => {
    const file = keyFile(writeKey('master.key', KEY, 0o600));
    const name = `CHILDVAULT_UNIT_${process.pid}_A`;
    process.env[name] = Buffer.from(KEY).toString('base64');
    try {
      const env = envKey(name);
      await attach(file);
      await attach(env);
      expect(env.id).toBe(file.id);
      await expectSameKey(file, env);
      await expectSameKey(env, file);
    } finally {
      Reflect.deleteProperty(process.env, name);
    }
  });
});

describe('generateKeyFile', () => {
  it('creates a 32-byte file of mode 0600 whose provider works', async () => {
    const path = join(dir, 'new.key');
    const provider = await generateKeyFile(path);
    const stat = statSync(path);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.size).toBe(MASTER_KEY_BYTES);
    await attach(provider);
    await expectSameKey(provider, provider);
    const reread = keyFile(path);
    await attach(reread);
    await expectSameKey(provider, reread);
  });

  it('creates a different key each time', async () => {
    await generateKeyFile(join(dir, 'a.key'));
    await generateKeyFile(join(dir, 'b.key'));
    expect(hex(readFileSync(join(dir, 'a.key')))).not.toBe(hex(readFileSync(join(dir, 'b.key'))));
  });

  it('refuses to overwrite an existing file with CONFLICT and leaves it unchanged', async () => {
    const path = writeKey('existing.key', KEY, 0o600);
    const error = await expectVaultRejection(generateKeyFile(path), 'CONFLICT');
    expect(error.message).toContain('already exists');
    expect(hex(readFileSync(path))).toBe(hex(KEY));
  });

  it('refuses to write through a symbolic link', async () => {
    const link = join(dir, 'link.key');
    symlinkSync(join(dir, 'target.key'), link);
    await expect(generateKeyFile(link)).rejects.toBeInstanceOf(VaultError);
    expect(() => statSync(join(dir, 'target.key'))).toThrow();
  });

  it('reports a missing directory as MASTER_KEY_UNAVAILABLE', async () => {
    await expectVaultRejection(generateKeyFile(join(dir, 'no', 'such', 'dir.key')), 'MASTER_KEY_UNAVAILABLE');
  });
});

describe('envKey', () => {
  const name = `CHILDVAULT_UNIT_${process.pid}_B`;
  afterEach(() => {
    Reflect.deleteProperty(process.env, name);
  });

  it('reads a base64 key, ignoring surrounding whitespace', async () => {
    process.env[name] = `  ${Buffer.from(KEY).toString('base64')}\n`;
    const provider = envKey(name);
    expect(await attach(provider)).toBeNull();
    await expectSameKey(provider, provider);
  });

  it('accepts the base64url alphabet', async () => {
    process.env[name] = Buffer.from(KEY).toString('base64url');
    const url = envKey(name);
    await attach(url);
    process.env[name] = Buffer.from(KEY).toString('base64');
    const std = envKey(name);
    await attach(std);
    await expectSameKey(url, std);
  });

  it('reads CHILDVAULT_MASTER_KEY by default', async () => {
    const previous = process.env.CHILDVAULT_MASTER_KEY;
    process.env.CHILDVAULT_MASTER_KEY = Buffer.from(KEY).toString('base64');
    try {
      await attach(envKey());
    } finally {
      if (previous === undefined) delete process.env.CHILDVAULT_MASTER_KEY;
      else process.env.CHILDVAULT_MASTER_KEY = previous;
    }
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('refuses a %s variable with MASTER_KEY_UNAVAILABLE naming it', async (_what, value) => {
    if (value !== undefined) process.env[name] = value;
    const error = await expectVaultRejection(attach(envKey(name)), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain(name);
    expect(error.message).toContain('not set');
  });

  it('refuses text that is not base64 without echoing it', async () => {
    const value = 'this is not base64 kid@example.com!';
    process.env[name] = value;
    const error = await expectVaultRejection(attach(envKey(name)), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain('not valid base64');
    expect(error.message).not.toContain(value);
  });

  it('removes the variable from the environment once read, also when it is refused', async () => {
    process.env[name] = Buffer.from(KEY).toString('base64');
    const provider = envKey(name);
    await attach(provider);
    expect(process.env[name]).toBeUndefined();
    expect(Object.keys(process.env)).not.toContain(name);
    await attach(provider, null); // attached again within one open: the key is still held
    await expectSameKey(provider, provider);
    process.env[name] = 'not base64!';
    await expectVaultRejection(attach(envKey(name)), 'MASTER_KEY_UNAVAILABLE');
    expect(process.env[name]).toBeUndefined();
  });

  it('says that an earlier open consumed the variable when a new envKey() (or the same one after close) reads it again', async () => {
    process.env[name] = Buffer.from(KEY).toString('base64');
    const first = envKey(name);
    await attach(first);
    const again = await expectVaultRejection(attach(envKey(name)), 'MASTER_KEY_UNAVAILABLE');
    expect(again.message).toContain('consumed by an earlier open');
    first.close?.();
    expect((await expectVaultRejection(attach(first), 'MASTER_KEY_UNAVAILABLE')).message).toContain('consumed by an earlier open');
    const never = await expectVaultRejection(attach(envKey(`${name}_NEVER`)), 'MASTER_KEY_UNAVAILABLE');
    expect(never.message).toContain('not set');
  });

  it("decodes the key into memory of its own: nothing of it is left in Node's shared Buffer pool", async () => {
    // A fresh key, encoded without passing through the pool (Buffer.from(u8) of 32 bytes would).
    const key = crypto.getRandomValues(new Uint8Array(32));
    process.env[name] = Buffer.from(key.buffer).toString('base64');
    const provider = envKey(name);
    await attach(provider);
    // The pool that small Buffer allocations are currently carved from (Buffer.poolSize bytes).
    const pool = new Uint8Array(Buffer.allocUnsafe(1).buffer);
    expect(pool.length).toBe(Buffer.poolSize);
    expect(Buffer.from(pool.buffer).indexOf(Buffer.from(key.buffer))).toBe(-1);
    const wrapped = await provider.wrap(new Uint8Array(32), AAD);
    const reference = keyFile(writeKey('same.key', key, 0o600));
    await attach(reference);
    expect(hex(await reference.unwrap(wrapped, AAD))).toBe(hex(new Uint8Array(32)));
  });

  it.each([16, 31, 33, 64])('refuses a key of %i bytes without echoing it', async (size) => {
    const value = Buffer.from(new Uint8Array(size).fill(0x33)).toString('base64');
    process.env[name] = value;
    const error = await expectVaultRejection(attach(envKey(name)), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain(`holds ${size}`);
    expect(error.message).not.toContain(value);
  });
});

describe('passphraseKey', () => {
  it('refuses passphrases shorter than 12 characters with VALIDATION, without echoing them', () => {
    const error = expectVaultError(() => passphraseKey('hunter2hunt'), 'VALIDATION');
    expect(error.field).toBe('passphrase');
    expect(error.message).not.toContain('hunter2');
    expect(() => passphraseKey('x'.repeat(12), FAST)).not.toThrow();
  });

  it('refuses a passphrase that is not a string', () => {
    expectVaultError(() => passphraseKey(123456789012 as unknown as string), 'VALIDATION');
  });

  it('creates Argon2id parameters on first attach, and derives the same key from them later', async () => {
    const first = passphraseKey(PASSPHRASE, FAST);
    expect(first.id).toBe(PASSPHRASE_PROVIDER_ID);
    const stored = await attach(first);
    expect(stored).not.toBeNull();
    const params = JSON.parse(stored ?? '') as Record<string, unknown>;
    expect(params).toMatchObject({ kdf: 'argon2id13', opsLimit: 2, memLimit: 64 * MiB });
    expect(Buffer.from(params.salt as string, 'base64').length).toBe(16);
    expect(stored).not.toContain(PASSPHRASE);

    const again = passphraseKey(PASSPHRASE); // the stored costs win over the defaults
    expect(await attach(again, stored)).toBe(stored);
    await expectSameKey(first, again);
  });

  it('derives a different key with a fresh salt for a new vault', async () => {
    const a = passphraseKey(PASSPHRASE, FAST);
    const b = passphraseKey(PASSPHRASE, FAST);
    const sa = await attach(a);
    const sb = await attach(b);
    expect(sa).not.toBe(sb);
    const wrapped = await a.wrap(new Uint8Array(32), AAD);
    await expectVaultRejection(b.unwrap(wrapped, AAD), 'INTEGRITY');
  });

  it('fails to unwrap with another passphrase over the same parameters', async () => {
    const right = passphraseKey(PASSPHRASE, FAST);
    const stored = await attach(right);
    const wrong = passphraseKey('incorrect horse battery staple', FAST);
    await attach(wrong, stored);
    const wrapped = await right.wrap(new Uint8Array(32), AAD);
    await expectVaultRejection(wrong.unwrap(wrapped, AAD), 'INTEGRITY');
  });

  it('sets a floor for a new vault at libsodium INTERACTIVE (2 passes, 64 MiB), naming the option', () => {
    expect(ARGON2ID_MIN_OPS_LIMIT).toBe(sodium().crypto_pwhash_OPSLIMIT_INTERACTIVE);
    expect(ARGON2ID_MIN_MEM_LIMIT).toBe(sodium().crypto_pwhash_MEMLIMIT_INTERACTIVE);
    expect(expectVaultError(() => passphraseKey(PASSPHRASE, { opsLimit: 1, memLimit: 64 * MiB }), 'VALIDATION').field).toBe('options.opsLimit');
    expect(expectVaultError(() => passphraseKey(PASSPHRASE, { opsLimit: 2, memLimit: 8 * MiB }), 'VALIDATION').field).toBe('options.memLimit');
    expect(expectVaultError(() => passphraseKey(PASSPHRASE, { opslimit: 1 } as never), 'VALIDATION').message).toContain('opslimit');
    expect(() => passphraseKey(PASSPHRASE, { opsLimit: 2, memLimit: 64 * MiB })).not.toThrow();
  });

  it('still opens a vault whose stored costs are below the floor (1 pass, 8 MiB)', async () => {
    const stored = JSON.stringify({ kdf: 'argon2id13', salt: Buffer.alloc(16, 7).toString('base64'), opsLimit: 1, memLimit: 8 * MiB });
    const a = passphraseKey(PASSPHRASE);
    const b = passphraseKey(PASSPHRASE);
    expect(await attach(a, stored)).toBe(stored);
    await attach(b, stored);
    await expectSameKey(a, b);
  });

  it('never prints the passphrase: String, inspect, console.log, format and JSON.stringify, before and after close', async () => {
    const provider = passphraseKey(PASSPHRASE, FAST);
    const shown = (): string[] => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const logger = new Console({ stdout: out, stderr: out });
      logger.log(provider);
      logger.log('%o %O %s %j', provider, provider, provider, provider);
      logger.dir(provider, { showHidden: true, depth: null });
      return [
        Buffer.concat(chunks).toString('utf8'),
        (provider as unknown as { toString(): string }).toString(),
        `provider: ${provider as unknown as string}`,
        [provider as unknown as string].join(''),
        inspect(provider, { showHidden: true, depth: null }),
        inspect(provider, { customInspect: false, showHidden: true, depth: null, getters: true }),
        format('%o', { provider }),
        JSON.stringify(provider),
        JSON.stringify({ provider }),
        Object.keys(provider).join(','),
        Object.getOwnPropertyNames(provider).map((k) => `${k}=${String((provider as unknown as Record<string, unknown>)[k])}`).join(','),
      ];
    };
    const check = (texts: string[]): void => {
      for (const text of texts) {
        expect(text).not.toContain(PASSPHRASE);
        expect(text).not.toContain('horse');
      }
    };
    check(shown());
    expect(JSON.stringify(provider)).toBe('"[MasterKeyProvider passphrase]"');
    expect(inspect(provider)).toBe('[MasterKeyProvider passphrase]');
    await attach(provider);
    check(shown());
    provider.close?.();
    check(shown());
  });

  it('wipes the passphrase on close: the provider cannot attach again', async () => {
    const provider = passphraseKey(PASSPHRASE, FAST);
    const stored = await attach(provider);
    provider.close?.();
    const error = await expectVaultRejection(attach(provider, stored), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toContain('wiped the passphrase');
  });

  it.each([
    ['not JSON', '{'],
    ['another KDF', JSON.stringify({ kdf: 'scrypt', salt: 'AAAAAAAAAAAAAAAAAAAAAA==', opsLimit: 1, memLimit: 8 * MiB })],
    ['costs out of range', JSON.stringify({ kdf: 'argon2id13', salt: 'AAAAAAAAAAAAAAAAAAAAAA==', opsLimit: 0, memLimit: 8 * MiB })],
    ['a salt that is not base64', JSON.stringify({ kdf: 'argon2id13', salt: '!!!', opsLimit: 1, memLimit: 8 * MiB })],
    ['a salt of the wrong length', JSON.stringify({ kdf: 'argon2id13', salt: 'AAAA', opsLimit: 1, memLimit: 8 * MiB })],
  ])('refuses stored parameters with %s as CORRUPT', async (_what, stored) => {
    await expectVaultRejection(attach(passphraseKey(PASSPHRASE, FAST), stored), 'CORRUPT');
  });
});

describe('in-memory providers before attach and after close', () => {
  const providers: [string, () => MasterKeyProvider][] = [
    ['keyFile', () => keyFile('/nonexistent/master.key')],
    ['envKey', () => envKey('CHILDVAULT_UNIT_NEVER_SET')],
    ['passphraseKey', () => passphraseKey(PASSPHRASE, FAST)],
  ];

  it.each(providers)('%s refuses wrap and unwrap before attach with MASTER_KEY_UNAVAILABLE', async (_name, make) => {
    const provider = make();
    await expectVaultRejection(provider.wrap(new Uint8Array(32), AAD), 'MASTER_KEY_UNAVAILABLE');
    await expectVaultRejection(provider.unwrap(new Uint8Array(80), AAD), 'MASTER_KEY_UNAVAILABLE');
  });

  it('forgets the key on close', async () => {
    const provider = keyFile(writeKey('master.key', KEY, 0o600));
    await attach(provider);
    const wrapped = await provider.wrap(new Uint8Array(32), AAD);
    provider.close?.();
    await expectVaultRejection(provider.unwrap(wrapped, AAD), 'MASTER_KEY_UNAVAILABLE');
  });

  it('does not show key material in String()', async () => {
    const provider = keyFile(writeKey('master.key', KEY, 0o600));
    await attach(provider);
    expect((provider as unknown as { toString(): string }).toString()).toBe('[MasterKeyProvider raw-key]');
  });

  it.each(providers)('%s shows only its kind in inspect and JSON', (_name, make) => {
    const provider = make();
    expect(inspect(provider, { customInspect: false, showHidden: true })).not.toMatch(/nonexistent|NEVER_SET|horse/);
    expect(JSON.stringify(provider)).toMatch(/^"\[MasterKeyProvider (raw-key|passphrase)\]"$/);
  });
});
