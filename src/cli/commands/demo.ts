/**
 * `childvault demo`: a guided end-to-end run on an embedded SQLite file in a temporary folder,
 * under the example policy of a short-video platform (docs/policy.example.json): create a vault
 * and key, import fake children, show consent, approvals and views deciding every read, prove the
 * raw file holds no plaintext, erase a child, verify the audit log, then guard a service's log and
 * database, plant canaries and scan a leaky service database. It uses the library exactly as a
 * service would.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { type AccessContext, generateKeyFile, importJsonl, isVaultError, keyFile, openVault, type Vault, VaultError } from '../../index.js';
import { demoChildren, demoJsonl, demoPlaintexts, type DemoChild } from '../demo-data.js';
import { describeKind, describeLocation } from './scan.js';
import { formatBytes, plural } from '../format.js';
import { outputFor } from '../global-options.js';
import type { Output } from '../output.js';

/** The example policy shipped in docs/ (two levels up from dist/cli/commands or src/cli/commands). */
export const EXAMPLE_POLICY = fileURLToPath(new URL('../../../docs/policy.example.json', import.meta.url));

interface DemoOptions {
  readonly dir?: string;
}

const operator: AccessContext = { actor: 'cli:demo-operator', role: 'operator', purpose: 'legacy-import' };
const guardianPortal: AccessContext = { actor: 'svc:guardian-portal', role: 'guardian-portal', purpose: 'guardian-access' };
const accountService: AccessContext = { actor: 'svc:account', role: 'service', purpose: 'account' };
const officer: AccessContext = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' };
const operations: AccessContext = { actor: 'cli:demo-operator', role: 'operator', purpose: 'operations' };
const leakDetection: AccessContext = { actor: 'cli:demo-operator', role: 'operator', purpose: 'leak-detection' };

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
        await runDemo(dir, out, keep);
        out.line(keep ? `\nfiles kept in ${dir}` : `\ncleaned up ${dir} (use --dir PATH to keep the files)`);
      } finally {
        if (!keep) rmSync(dir, { recursive: true, force: true });
      }
    });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed (unexpected)';
  } catch (error) {
    if (isVaultError(error)) return `refused: ${error.code}`;
    throw error;
  }
}

/** What every printed command that opens the demo vault needs: the files the demo leaves in its folder. */
const VAULT = '--db pool.db --key-file master.key --policy policy.json';

/**
 * `keep`: the folder stays (`--dir`), so every file a printed command names is left in it — the
 * commands can be rerun there as printed.
 */
async function runDemo(dir: string, out: Output, keep: boolean): Promise<void> {
  const db = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  // The printed commands name policy.json: the example policy, copied beside the vault.
  copyFileSync(EXAMPLE_POLICY, join(dir, 'policy.json'));
  const step = (n: number, title: string, cli?: string) => {
    out.line(`\n${n}. ${title}`);
    if (cli !== undefined) out.line(`   $ ${cli}`);
  };
  const children = demoChildren();
  out.line("childvault demo — a special protection pool for children's face, voice, location and contact data");
  out.line(`working in ${dir} (all data below is fake); policy.json is docs/policy.example.json`);

  step(1, 'Create the vault and a master key', 'childvault init --db pool.db --new-key-file master.key');
  const vault = await openVault({ path: db, masterKey: await generateKeyFile(keyPath), create: true, policy: EXAMPLE_POLICY, openedBy: operator });
  try {
    out.line(`   vault ${vault.id}; the master key lives in master.key (mode 0600), never in pool.db`);

    const importFile = join(dir, 'legacy-export.jsonl');
    writeFileSync(importFile, demoJsonl(children), { mode: 0o600 });
    step(2, `Import ${children.length} children from a legacy plaintext export`, `childvault import legacy-export.jsonl ${VAULT}`);
    const summary = await importJsonl(vault, importFile, { ctx: operator });
    out.line(`   imported ${plural(summary.values, 'value')} for ${plural(summary.subjects, 'subject')}, each under its own data key`);
    if (keep) {
      out.line('   (legacy-export.jsonl is kept so the command above can be rerun; delete a real export once imported)');
    } else {
      rmSync(importFile); // the plaintext export must not outlive the import
    }

    const kid = children[0]?.subject ?? 'u:demo-1';
    step(3, `The account service reads ${kid}'s contact: consent decides`);
    out.line(`   before the guardian consents: ${await refusal(vault.get(kid, ['contact'], accountService))}`);
    await vault.consent.grant(kid, { purpose: 'account', categories: ['contact'], guardianRef: 'g:demo-mother', verification: 'sms-code', noticeVersion: '2026-09' }, guardianPortal);
    out.line(`   $ childvault consent grant ${kid} --for account --categories contact --guardian g:demo-mother --verification sms-code --notice 2026-09 ${VAULT}`);
    const got = await vault.get(kid, ['contact'], accountService);
    out.line(`   after: console.log(contact) → ${String(got.contact)}`);
    try {
      JSON.stringify(got);
      out.line('   JSON.stringify(result)    → (unexpectedly allowed)');
    } catch (error) {
      out.line(`   JSON.stringify(result)    → refused with ${isVaultError(error) ? error.code : 'an error'}`);
    }
    out.line(`   contact.reveal().email    → ${got.contact?.reveal().email ?? '?'} (revealed on purpose; fake)`);

    step(4, 'A safety moderator reads only with the officer\'s approval, and sees less');
    const moderator: AccessContext = { actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review' };
    out.line(`   without approval: ${await refusal(vault.get(kid, ['contact'], moderator))}`);
    const approval = await vault.approvals.create(
      { actor: 'staff:mod-wang', subjects: [kid], categories: ['face', 'location', 'contact'], purpose: 'safety-review', reason: 'report #5521', expiresAt: new Date(Date.now() + 86_400_000), readBudget: 2 },
      officer,
    );
    const seen = await vault.get(kid, ['location', 'contact'], { ...moderator, approval: approval.id });
    const loc = seen.location?.reveal();
    out.line(`   with ${approval.id.slice(0, 12)}…: location (${seen.location?.view ?? '?'}) ${loc?.lat ?? '?'}, ${loc?.lon ?? '?'}; contact (${seen.contact?.view ?? '?'}) ${seen.contact?.reveal().phone ?? '?'}`);

    step(5, 'Protective defaults stay on until the guardian consents to each purpose');
    const protections = await vault.protections(kid, accountService);
    out.line(`   ${Object.values(protections).filter(Boolean).length} of ${Object.keys(protections).length} on (location concealed: ${protections.locationConcealed ? 'yes' : 'no'})`);

    step(6, 'Look for plaintext in the raw vault files (database and write-ahead log, while open)');
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

  const reopened = await openVault({ path: db, masterKey: keyFile(keyPath), policy: EXAMPLE_POLICY, openedBy: operator });
  try {
    const second = children[1]?.subject ?? 'u:demo-2';
    step(7, `Erase ${second} (a guardian asked for deletion)`, `childvault subject erase ${second} ${VAULT}`);
    const receipt = await reopened.erase(second, guardianPortal);
    out.line(`   destroyed the data keys and ciphertext of: ${receipt.erased.join(', ')}; its audit pseudonym key too`);
    const after = await reopened.get(second, ['location', 'contact', 'face', 'voice'], guardianPortal);
    out.line(`   reading ${second} now returns ${plural(Object.keys(after).length, 'value')}`);

    step(8, 'Verify the access log: every step above (and every refusal) is in it', `childvault audit verify ${VAULT}`);
    const report = await reopened.audit.verify(officer);
    out.line(`   ${report.ok ? 'OK' : 'FAILED'}: ${plural(report.entries, 'entry', 'entries')}, ${plural(report.checkpoints, 'checkpoint')}, head seq ${report.head?.seq ?? 0}`);

    step(9, 'Status', `childvault status ${VAULT}`);
    const s = await reopened.status(operations);
    out.line(`   ${s.categories.map((c) => `${c.name} ${c.values}`).join(' · ')} · KEK v${s.keks.find((k) => k.state === 'active')?.version ?? '?'} active`);

    await guardSteps(reopened, dir, children, out, step);
  } finally {
    await reopened.close();
  }
}

/**
 * Steps 10–12: the guards a service puts on its other channels, canaries, and a scan of a
 * "service database" that leaked one child's phone number (in a free-text note) and face photo.
 */
async function guardSteps(vault: Vault, dir: string, children: readonly DemoChild[], out: Output, step: (n: number, title: string, cli?: string) => void): Promise<void> {
  const kid = children[0];
  if (kid === undefined) return;
  step(10, 'Guards refuse minor data on its way to a log or another database');
  const logLine = { event: 'support-ticket', note: `guardian called back from ${kid.contact.phone.slice(3, 6)} ${kid.contact.phone.slice(6)}` };
  out.line(`   vault.guard.assertNoMinorData(logLine) → ${refusalOf(() => {
    vault.guard.assertNoMinorData(logLine, { where: 'support log' });
  })}`);
  const serviceDb = new Database(join(dir, 'service.db'));
  try {
    serviceDb.exec('CREATE TABLE tickets (id INTEGER PRIMARY KEY, note TEXT, photo BLOB)');
    const guarded = vault.guard.database(serviceDb);
    const insert = guarded.prepare('INSERT INTO tickets (note, photo) VALUES (?, ?)');
    insert.run('account locked; reset sent', null);
    out.line('   guarded INSERT of a clean ticket → stored');
    out.line(`   guarded INSERT of the child's face photo → ${refusalOf(() => insert.run('profile photo', kid.face.image))}`);

    step(11, 'Plant canaries: fake children no legitimate flow reads', `childvault canary plant 3 ${VAULT}`);
    const planted = await vault.canaries.plant(3, leakDetection);
    out.line(`   ${plural(planted.planted, 'canary', 'canaries')} planted (${planted.total} in the vault); a canary found anywhere else proves a leak`);

    step(12, 'Scan a service database that an unguarded code path wrote to', `childvault scan service.db ${VAULT}`);
    // The leak: a code path that skipped the guard wrote the phone into a note and kept the photo.
    serviceDb.prepare('INSERT INTO tickets (note, photo) VALUES (?, ?)').run(`callback requested: ${kid.contact.phone}`, kid.face.image);
  } finally {
    serviceDb.close();
  }
  const result = await vault.guard.scan([join(dir, 'service.db')], leakDetection);
  for (const f of result.findings) out.line(`   found: ${f.file.slice(dir.length + 1)} ${describeLocation(f.location)} — ${describeKind(f.match).join(' ')}`);
  out.line(`   ${plural(result.findings.length, 'finding')}, reported by place and kind, never by value; the CLI exits 5`);
}

function refusalOf(fn: () => unknown): string {
  try {
    fn();
    return 'allowed (unexpected)';
  } catch (error) {
    if (isVaultError(error)) return `refused: ${error.code}`;
    throw error;
  }
}
