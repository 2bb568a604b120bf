/**
 * Master-key secrets given through the environment are removed from it once read, so the child
 * processes of a service (or of the CLI) never inherit them: checked with a real `env` spawned by
 * a real process after the vault opened.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { ROOT, runScript } from '../helpers/processes.js';

interface Report {
  readonly inChild: boolean;
  readonly valueInChild: boolean;
  readonly inProcess: boolean;
  readonly second?: string;
  readonly id?: string;
}

function report(stdout: string): Report {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Report;
}

describe('secrets in the environment', () => {
  it('CHILDVAULT_MASTER_KEY is gone from process.env and from a child process once the vault is open; a second envKey() is told it was consumed', async () => {
    const key = randomBytes(32).toString('base64');
    const result = await runScript(
      `
      import { execFileSync } from 'node:child_process';
      import { envKey, openVault } from 'childvault';
      const vault = await openVault({ create: true, path: process.env.CV_DB, masterKey: envKey() });
      const childEnv = execFileSync('env', { encoding: 'utf8' });
      const second = await openVault({ create: true, path: process.env.CV_DB, masterKey: envKey() }).then(
        (v) => v.close().then(() => 'opened'),
        (e) => e.code + ': ' + e.message,
      );
      await vault.close();
      console.log(JSON.stringify({ inChild: childEnv.includes('CHILDVAULT_MASTER_KEY'), valueInChild: childEnv.includes(${JSON.stringify(key.slice(0, 24))}), inProcess: 'CHILDVAULT_MASTER_KEY' in process.env, second }));
      `,
      { CHILDVAULT_MASTER_KEY: key, CV_DB: join(tempDir(), 'pool.db') },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const r = report(result.stdout);
    expect(r).toMatchObject({ inChild: false, valueInChild: false, inProcess: false });
    expect(r.second).toMatch(/^MASTER_KEY_UNAVAILABLE: .*consumed by an earlier open/);
    expect(r.second).not.toContain(key.slice(0, 24));
  });

  it("the CLI's CHILDVAULT_PASSPHRASE is gone from process.env and from a child process once the key source is made", async () => {
    const passphrase = 'correct horse battery staple for the env test';
    const result = await runScript(
      `
      import { execFileSync } from 'node:child_process';
      import { masterKeyFrom } from ${JSON.stringify(`${ROOT}dist/cli/global-options.js`)};
      const provider = masterKeyFrom({});
      const childEnv = execFileSync('env', { encoding: 'utf8' });
      console.log(JSON.stringify({ inChild: childEnv.includes('CHILDVAULT_PASSPHRASE'), valueInChild: childEnv.includes('horse battery'), inProcess: 'CHILDVAULT_PASSPHRASE' in process.env, id: provider.id }));
      `,
      { CHILDVAULT_PASSPHRASE: passphrase },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(report(result.stdout)).toEqual({ inChild: false, valueInChild: false, inProcess: false, id: 'passphrase' });
  });
});
