/**
 * The config profile (`childvault.config.json`, `--config`, `CHILDVAULT_CONFIG`): an operator types
 * `childvault status`, not three flags; flags and the environment still win; secrets never in it.
 * The built CLI, run as a child process in the folder that holds the profile.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

/** A folder with policy.json and a vault made by `init --write-config`. */
async function profiled() {
  const dir = tempDir();
  copyFileSync(EXAMPLE_POLICY_PATH, join(dir, 'policy.json'));
  const init = await runCli(['init', '--db', 'pool.db', '--new-key-file', 'master.key', '--policy', 'policy.json', '--write-config'], {}, dir);
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  return dir;
}

describe('childvault init --write-config', () => {
  it('writes a profile of paths only, relative to its folder, and refuses to overwrite one', async () => {
    const dir = await profiled();
    expect(JSON.parse(readFileSync(join(dir, 'childvault.config.json'), 'utf8'))).toEqual({ db: 'pool.db', keyFile: 'master.key', policy: 'policy.json' });
    const again = await runCli(['init', '--db', 'other.db', '--new-key-file', 'other.key', '--write-config'], {}, dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/config profile .*childvault\.config\.json already exists; refusing to overwrite it \[CONFLICT\]/);
    expect(existsSync(join(dir, 'other.db'))).toBe(false);
  });
});

describe('a profile in the working directory', () => {
  it('gives db, key and policy to every command: `childvault status` alone works', async () => {
    const dir = await profiled();
    const status = await runCli(['status', '--json'], {}, dir);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ masterKeyProvider: 'raw-key' });
  });

  it('is found from its own folder: paths resolve against the profile, not the working directory', async () => {
    const dir = await profiled();
    const elsewhere = join(dir, 'sub');
    mkdirSync(elsewhere);
    const viaFlag = await runCli(['status', '--config', join(dir, 'childvault.config.json')], {}, elsewhere);
    expect(viaFlag.code).toBe(0);
    const viaEnv = await runCli(['status'], { CHILDVAULT_CONFIG: join(dir, 'childvault.config.json') }, elsewhere);
    expect(viaEnv.code).toBe(0);
    // Without it, the sub-folder has no profile: the usage error says how to give one.
    const none = await runCli(['status'], {}, elsewhere);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give --db PATH, set CHILDVAULT_DB or write a childvault.config.json');
  });

  it('yields to flags and the environment', async () => {
    const dir = await profiled();
    const flag = await runCli(['status', '--db', 'missing.db'], {}, dir);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('--db: missing.db holds no vault');
    const env = await runCli(['status'], { CHILDVAULT_DB: 'missing.db' }, dir);
    expect(env.stderr).toContain('CHILDVAULT_DB: missing.db holds no vault');
    // Another key source in the environment replaces the profile's key file (one source, not two).
    const key = await runCli(['status'], { CHILDVAULT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, dir);
    expect(key.code).toBe(3);
    expect(key.stderr).toContain('[WRONG_MASTER_KEY]');
    // CHILDVAULT_CONFIG set empty turns the default profile off.
    const off = await runCli(['status'], { CHILDVAULT_CONFIG: '' }, dir);
    expect(off.code).toBe(2);
  });

  it('names itself when the vault it names is missing', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'childvault.config.json'), JSON.stringify({ db: 'nowhere.db', keyFile: 'k', policy: EXAMPLE_POLICY_PATH }));
    writeFileSync(join(dir, 'k'), Buffer.alloc(32, 1), { mode: 0o600 });
    const result = await runCli(['status'], {}, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`db in ./childvault.config.json: ${join(dir, 'nowhere.db')} holds no vault; create one with \`childvault init\` [NOT_FOUND]`);
  });

  it('takes the master key from an environment variable the profile names', async () => {
    const dir = await profiled();
    const key = readFileSync(join(dir, 'master.key')).toString('base64');
    writeFileSync(join(dir, 'env.config.json'), JSON.stringify({ db: 'pool.db', masterKeyEnv: 'POOL_KEY', policy: 'policy.json' }));
    const ok = await runCli(['status', '--config', 'env.config.json'], { POOL_KEY: key }, dir);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    writeFileSync(join(dir, 'pass.config.json'), JSON.stringify({ db: 'pool.db', passphraseEnv: 'POOL_PASSPHRASE', policy: 'policy.json' }));
    const unset = await runCli(['status', '--config', 'pass.config.json'], {}, dir);
    expect(unset.stderr).toContain('passphraseEnv in --config names POOL_PASSPHRASE, which is not set [MASTER_KEY_UNAVAILABLE]');
  });
});

describe('a profile that is refused', () => {
  it.each([
    ['a secret field', { db: 'pool.db', masterKey: 'c2VjcmV0' }, /has a field "masterKey": secrets never go in a config profile/, 'c2VjcmV0'],
    ['a passphrase', { passphrase: 'correct horse' }, /has a field "passphrase"/, 'correct horse'],
    ['an unknown field', { db: 'pool.db', dbb: 'x' }, /config has unknown field\(s\) dbb \[VALIDATION\]/, null],
    ['two key sources', { keyFile: 'k', masterKeyEnv: 'K' }, /names more than one master-key source/, null],
    ['a bad variable name', { masterKeyEnv: 'MY KEY=abc' }, /config\.masterKeyEnv must be an environment variable name/, 'abc'],
    ['a wrong type', { db: 7 }, /config\.db expected string/, null],
  ])('%s, without echoing its value', async (_what, profile, message, secret) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'childvault.config.json'), JSON.stringify(profile));
    const result = await runCli(['status'], {}, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    if (secret !== null) expect(result.stderr).not.toContain(secret);
  });

  it('when it is not JSON, when a named one is missing, and when every user may write it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'childvault.config.json'), '{ db: pool.db }');
    expect((await runCli(['status'], {}, dir)).stderr).toContain('is not valid JSON [VALIDATION]');
    const missing = await runCli(['status', '--config', 'nope.json'], {}, dir);
    expect([missing.code, missing.stderr]).toEqual([2, `childvault: --config: cannot read the config profile ${join(dir, 'nope.json')} [USAGE]\n`]);
    writeFileSync(join(dir, 'childvault.config.json'), '{}');
    chmodSync(join(dir, 'childvault.config.json'), 0o666);
    const open = await runCli(['status'], {}, dir);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('is writable by every user; run chmod o-w on it');
  });
});
