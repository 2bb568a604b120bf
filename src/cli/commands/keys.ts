/** `childvault keys list|rotate|rotate-master|destroy` and `childvault retention sweep`. */
import type { Command } from 'commander';
import { envKey, type ErasureSummary, generateKeyFile, keyFile, type KeysStatus, type MasterKeyProvider, passphraseKey, VaultError } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { formatDuration, plural, table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { interruptible } from '../interrupt.js';
import { parseIntegerOption } from '../parse.js';

const DEFAULTS = { role: 'operator', purpose: 'key-management' };

/**
 * What the erasure record means for backups (docs/keys.md, "Erasure and backups"), worded for
 * each case: no erasure, none since the last master-key rotation, some since it, or some and the
 * master key never rotated.
 */
export function erasureLine(e: ErasureSummary): string {
  const rotated = e.lastMasterRotation === null ? null : new Date(e.lastMasterRotation).toISOString();
  if (e.erasures === 0) return `erasures: none (${rotated === null ? 'master key never rotated' : `last master-key rotation ${rotated}`})`;
  const erasures = `erasures: ${e.erasures} (${plural(e.values, 'value')})`;
  const undo = (n: number): string => `backups taken before ${n === 1 ? 'it' : 'them'} still decrypt the erased values until you rotate the master key and destroy the old one`;
  if (rotated === null) return `${erasures}, none backup-safe as the master key was never rotated: ${undo(e.erasures)}`;
  if (e.notBackupSafe === 0) return `${erasures}, all made before the last master-key rotation (${rotated}): backup-safe once the old master key is destroyed`;
  return `${erasures}, ${e.notBackupSafe} since the last master-key rotation (${rotated}): ${undo(e.notBackupSafe)}`;
}

function keyLines(s: KeysStatus): string[] {
  return [
    ...table([
      ['KEK', 'state', 'data keys', 'created', 'retired', 'destroyed'],
      ...s.keks.map((k) => [`v${k.version}`, k.state, String(k.dataKeys), k.createdAt.toISOString(), k.retiredAt?.toISOString() ?? '-', k.destroyedAt?.toISOString() ?? '-']),
    ]),
    ...(s.rotationInProgress === null
      ? []
      : ['', `rotation to v${s.rotationInProgress.toVersion} in progress (${s.rotationInProgress.rewrapped} rewrapped): run \`childvault keys rotate\` to finish it`]),
    '',
    erasureLine(s.erasures),
  ];
}

interface RotateOptions extends ContextOptions {
  readonly batchSize: string;
  readonly reencrypt?: boolean;
  readonly dryRun?: boolean;
}

interface RotateMasterOptions extends ContextOptions {
  readonly newKeyFile?: string;
  readonly generate?: boolean;
}

/** The new master key: --new-key-file, or CHILDVAULT_NEW_MASTER_KEY / CHILDVAULT_NEW_PASSPHRASE. Exactly one. */
async function newMasterKey(options: RotateMasterOptions): Promise<MasterKeyProvider> {
  const sources: string[] = [];
  if (options.newKeyFile !== undefined) sources.push('--new-key-file');
  if ((process.env['CHILDVAULT_NEW_MASTER_KEY'] ?? '') !== '') sources.push('CHILDVAULT_NEW_MASTER_KEY');
  if ((process.env['CHILDVAULT_NEW_PASSPHRASE'] ?? '') !== '') sources.push('CHILDVAULT_NEW_PASSPHRASE');
  if (sources.length !== 1) {
    throw new VaultError('USAGE', `give exactly one new master key: --new-key-file PATH, or CHILDVAULT_NEW_MASTER_KEY or CHILDVAULT_NEW_PASSPHRASE (given: ${sources.join(', ') || 'none'})`);
  }
  if (options.newKeyFile !== undefined) return options.generate === true ? generateKeyFile(options.newKeyFile) : keyFile(options.newKeyFile);
  if (options.generate === true) throw new VaultError('USAGE', '--generate goes with --new-key-file');
  if (sources[0] === 'CHILDVAULT_NEW_MASTER_KEY') return envKey('CHILDVAULT_NEW_MASTER_KEY'); // removed from the environment when read
  const passphrase = process.env['CHILDVAULT_NEW_PASSPHRASE'] ?? '';
  Reflect.deleteProperty(process.env, 'CHILDVAULT_NEW_PASSPHRASE'); // no child process inherits it
  return passphraseKey(passphrase);
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('key-encryption keys: list, rotate (online, resumable), rotate the master key, destroy retired keys');

  contextOptions(keys.command('list').description('KEK versions, their state and data-key counts; a rotation in progress; erasures not yet backup-safe'), DEFAULTS)
    .addHelpText('after', '\nExample:\n  $ childvault keys list --db pool.db --key-file master.key --policy policy.json --json')
    .action(async (options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const s = await withVault(command, (vault) => vault.keys.status(accessContext(options, DEFAULTS)));
      out.result(s, () => keyLines(s));
    });

  contextOptions(
    keys
      .command('rotate')
      .description('create a new active KEK and rewrap every data key to it (no value is decrypted), or finish an interrupted rotation')
      .option('--batch-size <n>', 'data keys per transaction: writers wait at most one batch', '1000')
      .option('--reencrypt', 'also replace every data key and re-encrypt its value')
      .option('--dry-run', 'print the plan (data keys per KEK, estimated time) and change nothing'),
    DEFAULTS,
  )
    .addHelpText('after', '\nSafe while services keep writing; if interrupted, run it again to finish the same rotation.\nExample:\n  $ childvault keys rotate --db pool.db --key-file master.key --policy policy.json --batch-size 2000\n  $ childvault keys rotate --dry-run --reencrypt --db pool.db --key-file master.key --policy policy.json')
    .action(async (options: RotateOptions, command: Command) => {
      const out = outputFor(command);
      const batchSize = parseIntegerOption(options.batchSize, '--batch-size', 1, 100_000);
      const ctx = accessContext(options, DEFAULTS);
      if (options.dryRun === true) {
        const plan = await withVault(command, (vault) => vault.keys.plan({ reencrypt: options.reencrypt === true }, ctx));
        out.result(plan, () => [
          plan.resuming ? `would finish the interrupted rotation to v${plan.toVersion}` : `would create KEK v${plan.toVersion} and make it active`,
          ...plan.dataKeysByKek.map((k) => `  v${k.version} (${k.state}): ${plural(k.dataKeys, 'data key')}`),
          `${plural(plan.toRewrap, 'data key')} to ${plan.reencrypt ? 'replace, re-encrypting their values' : 'rewrap'}, about ${plan.estimatedSeconds} s`,
        ]);
        return;
      }
      let progress = { done: 0, total: 0 };
      const state = (): string =>
        `the KEK rotation had ${progress.done} of ${plural(progress.total, 'data key')} ${options.reencrypt === true ? 're-encrypted' : 'rewrapped'}, committed in whole batches; the vault is consistent and services keep working. Run \`childvault keys rotate\` again to finish the same rotation`;
      const summary = await withVault(command, (vault) =>
        interruptible(state, async () => {
          const bar = out.progress('rotating', 1);
          try {
            return await vault.keys.rotate({ batchSize, reencrypt: options.reencrypt === true, onProgress: (done, total) => { progress = { done, total }; bar.update(done, total); } }, ctx);
          } finally {
            bar.stop();
          }
        }),
      );
      out.result(summary, () => [
        `${summary.resumed ? 'finished the interrupted rotation' : 'rotated'} to KEK v${summary.toVersion}: ${plural(summary.rewrapped, 'data key')} ${summary.reencrypt ? 'replaced and values re-encrypted' : 'rewrapped'} in ${plural(summary.batches, 'batch', 'batches')}, ${formatDuration(summary.durationMs)}`,
        // The KEK active before a rotation is always the version below the new one (versions only grow).
        `the previous KEK v${summary.toVersion - 1} is retired and wraps nothing; destroy it with \`childvault keys destroy ${summary.toVersion - 1}\` (backups keep their own copy: see docs/keys.md)`,
      ]);
    });

  contextOptions(
    keys
      .command('rotate-master')
      .description('rewrap every KEK and vault key under a new master key, in one transaction; the old key stops working')
      .option('--new-key-file <path>', 'the new key file (mode 0600); with --generate, created now')
      .option('--generate', 'create the new key file (refuses to overwrite)'),
    DEFAULTS,
  )
    .addHelpText('after', '\nOr set CHILDVAULT_NEW_MASTER_KEY (base64) or CHILDVAULT_NEW_PASSPHRASE.\nExample:\n  $ childvault keys rotate-master --new-key-file master-2027.key --generate --db pool.db --key-file master.key --policy policy.json')
    .action(async (options: RotateMasterOptions, command: Command) => {
      const out = outputFor(command);
      const next = await newMasterKey(options);
      await withVault(command, (vault) => vault.keys.rotateMaster(next, accessContext(options, DEFAULTS)));
      out.result({ rotated: true, masterKeyProvider: next.id }, () => ['the vault is now locked by the new master key; the old one no longer opens it (keep the old key until you are sure no backup needs it)']);
    });

  contextOptions(keys.command('destroy').description('destroy a retired KEK that wraps no data key').argument('<version>', 'KEK version (as in `keys list`)'), DEFAULTS)
    .addHelpText('after', '\nExample:\n  $ childvault keys destroy 1 --db pool.db --key-file master.key --policy policy.json')
    .action(async (version: string, options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const v = parseIntegerOption(version.replace(/^v/, ''), 'VERSION', 1, 1_000_000);
      await withVault(command, (vault) => vault.keys.destroy(v, accessContext(options, DEFAULTS)));
      out.result({ destroyed: v }, () => [`destroyed KEK v${v} in the vault file; backups made earlier keep their own copy, readable with the master key of their time (docs/keys.md)`]);
    });
}

interface SweepCommandOptions extends ContextOptions {
  readonly dryRun?: boolean;
}

export function registerRetention(program: Command): void {
  const retention = program.command('retention').description('retention of values');
  contextOptions(
    retention.command('sweep').description("erase every value past its category's retention (the policy's, if shorter)").option('--dry-run', 'count, erase nothing'),
    { role: 'operator', purpose: 'retention' },
  )
    .addHelpText('after', '\nExample:\n  $ childvault retention sweep --db pool.db --key-file master.key --policy policy.json --dry-run')
    .action(async (options: SweepCommandOptions, command: Command) => {
      const out = outputFor(command);
      const summary = await withVault(command, (vault) => vault.retention.sweep(accessContext(options, { role: 'operator', purpose: 'retention' }), { dryRun: options.dryRun === true }));
      out.result(summary, () => [
        `${summary.dryRun ? 'would erase' : 'erased'} ${plural(summary.total, 'value')} past retention of ${summary.scanned} scanned` +
          (summary.total > 0 ? `: ${Object.entries(summary.erased).map(([k, n]) => `${k} ${n}`).join(', ')}` : ''),
      ]);
    });
}
