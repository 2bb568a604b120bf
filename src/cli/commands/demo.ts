/**
 * `childvault demo`: a guided end-to-end run on an embedded SQLite file in a temporary folder —
 * create a vault and key, import fake children, read one back, prove the raw file holds no
 * plaintext, erase a child. It uses the library exactly as a service would.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isVaultError, VaultError } from '../../errors.js';
import { importJsonl } from '../../import/jsonl-import.js';
import { generateKeyFile, keyFile } from '../../keys/master-key.js';
import { openVault } from '../../vault.js';
import { demoChildren, demoJsonl, demoPlaintexts } from '../demo-data.js';
import { formatBytes } from '../format.js';
import { outputFor } from '../global-options.js';

interface DemoOptions {
  readonly dir?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a guided end-to-end demo in a temporary folder (fake data; nothing else is touched)')
    .option('--dir <path>', 'run in this (new or empty) folder and keep the files afterwards')
    .addHelpText('after', '\nExample:\n  $ npx childvault demo\n  $ npx childvault demo --dir ./demo-run')
    .action(async (options: DemoOptions, command: Command) => {
      const out = outputFor(command);
      const keep = options.dir !== undefined;
      const dir = keep ? resolve(options.dir ?? '.') : mkdtempSync(join(tmpdir(), 'childvault-demo-'));
      if (keep) {
        mkdirSync(dir, { recursive: true });
        if (existsSync(join(dir, 'pool.db'))) throw new VaultError('CONFLICT', `${dir} already holds a demo vault; give an empty folder`);
      }
      try {
        await runDemo(dir, out);
        out.line(keep ? `\nfiles kept in ${dir}` : `\ncleaned up ${dir} (use --dir PATH to keep the files)`);
      } finally {
        if (!keep) rmSync(dir, { recursive: true, force: true });
      }
    });
}

async function runDemo(dir: string, out: ReturnType<typeof outputFor>): Promise<void> {
  const db = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  const step = (n: number, title: string, cli?: string) => {
    out.line(`\n${n}. ${title}`);
    if (cli !== undefined) out.line(`   $ ${cli}`);
  };
  out.line('childvault demo — a special protection pool for children\'s face, voice, location and contact data');
  out.line(`working in ${dir} (all data below is fake)`);

  step(1, 'Create the vault and a master key', 'childvault init --db pool.db --new-key-file master.key');
  const vault = await openVault({ path: db, masterKey: await generateKeyFile(keyPath) });
  try {
    out.line(`   vault ${vault.id}; the master key lives in master.key (mode 0600), never in pool.db`);

    const children = demoChildren();
    const importFile = join(dir, 'legacy-export.jsonl');
    writeFileSync(importFile, demoJsonl(children), { mode: 0o600 });
    step(2, `Import ${children.length} children from a legacy plaintext export`, 'childvault import legacy-export.jsonl --db pool.db --key-file master.key');
    const operator = { actor: 'cli:demo-operator', role: 'operator', purpose: 'import' };
    const summary = await importJsonl(vault, importFile, { ctx: operator });
    out.line(`   imported ${summary.values} values for ${summary.subjects} subjects (each under its own data key)`);
    rmSync(importFile); // the plaintext export must not outlive the import

    const first = children[0];
    if (first === undefined) throw new Error('no demo children');
    step(3, `Read ${first.subject} back`);
    const service = { actor: 'svc:guardian-portal', role: 'service', purpose: 'guardian-access' };
    const got = await vault.get(first.subject, ['location', 'contact', 'face'], service);
    out.line(`   console.log(location)   → ${String(got.location)}`);
    try {
      JSON.stringify(got);
      out.line('   JSON.stringify(result)  → (unexpectedly allowed)');
    } catch (error) {
      out.line(`   JSON.stringify(result)  → refused with ${isVaultError(error) ? error.code : 'an error'}`);
    }
    const location = got.location?.reveal();
    out.line(`   location.reveal()       → lat ${location?.lat ?? '?'}, lon ${location?.lon ?? '?'} (revealed on purpose; fake)`);
    out.line(`   face.reveal().image     → ${formatBytes(got.face?.reveal().image?.length ?? 0)}, decrypted in 64 KiB chunks`);

    step(4, 'Look for plaintext in the raw vault files (the database and its write-ahead log, while open)');
    const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
    const raw = files.map((f) => readFileSync(f));
    const probes = demoPlaintexts(children);
    const found = probes.filter((p) => raw.some((bytes) => bytes.indexOf(p.bytes) !== -1));
    out.line(`   searched ${files.map((f, i) => `${f.slice(dir.length + 1)} (${formatBytes(raw[i]?.length ?? 0)})`).join(', ')}`);
    out.line(`   for ${probes.length} plaintext fragments (ids, phones, e-mails, addresses, coordinates, image and audio bytes): ${found.length} found`);
    if (found.length > 0) throw new VaultError('PLAINTEXT_LEAK', `plaintext found in the vault file: ${found.map((f) => f.label).join(', ')}`);
  } finally {
    await vault.close();
  }

  const reopened = await openVault({ path: db, masterKey: keyFile(keyPath), mustExist: true });
  try {
    const second = 'u:demo-2';
    const guardian = { actor: 'svc:guardian-portal', role: 'service', purpose: 'guardian-request' };
    step(5, `Erase ${second} (a guardian withdrew consent)`);
    const receipt = await reopened.erase(second, guardian);
    out.line(`   destroyed the data keys and ciphertext of: ${receipt.erased.join(', ')}`);
    const after = await reopened.get(second, ['location', 'contact', 'face', 'voice'], guardian);
    out.line(`   reading ${second} now returns ${Object.keys(after).length} values`);

    step(6, 'Status', 'childvault status --db pool.db --key-file master.key');
    const s = await reopened.status();
    out.line(`   ${s.categories.map((c) => `${c.name} ${c.values}`).join(' · ')} · KEK v${s.keks.find((k) => k.state === 'active')?.version ?? '?'} active`);
  } finally {
    await reopened.close();
  }
}
