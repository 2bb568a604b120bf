/** `childvault subject export|erase|protections`: a guardian's requests about one child. */
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { VaultError } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { plural, table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseListOption } from '../parse.js';
import { revealAll } from '../revealed.js';

const DEFAULTS = { role: 'guardian-portal', purpose: 'guardian-access' };

interface ExportOptions extends ContextOptions {
  readonly out?: string;
  readonly reveal?: boolean;
}

interface EraseOptions extends ContextOptions {
  readonly categories?: string;
}

export function registerSubject(program: Command): void {
  const subject = program.command('subject').description("a guardian's requests about one child: a copy of the data, erasure, the protective defaults");

  contextOptions(
    subject
      .command('export')
      .description('a copy of everything held about the child (values, consents, protections) for a guardian request')
      .argument('<subject>', "the child's subject id")
      .option('--out <file>', 'write the copy to this new file (mode 0600)')
      .option('--reveal', 'print the copy on stdout instead (it holds the plaintext)'),
    DEFAULTS,
  )
    .addHelpText('after', '\nExample:\n  $ childvault subject export u:1001 --out u1001-copy.json --db pool.db --key-file master.key --policy policy.json')
    .action(async (id: string, options: ExportOptions, command: Command) => {
      const out = outputFor(command);
      if ((options.out === undefined) === (options.reveal !== true)) throw new VaultError('USAGE', 'give --out FILE, or --reveal to print the plaintext on stdout');
      // Claim the file before decrypting anything: no copy is made (or audited) that cannot be written.
      let fd: number | undefined;
      if (options.out !== undefined) {
        try {
          fd = openSync(options.out, 'wx', 0o600);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          throw new VaultError(code === 'EEXIST' ? 'CONFLICT' : 'STORAGE', code === 'EEXIST' ? `--out file ${options.out} already exists; refusing to overwrite it` : `cannot create --out file ${options.out}`);
        }
      }
      let copy;
      try {
        copy = await withVault(command, async (vault) => {
          const e = await vault.exportSubject(id, accessContext(options, DEFAULTS));
          return { subject: id, exportedAt: e.exportedAt, values: revealAll(e.values), consents: e.consents, protections: e.protections };
        });
      } catch (error) {
        if (fd !== undefined) {
          closeSync(fd);
          rmSync(options.out ?? '', { force: true });
        }
        throw error;
      }
      const text = `${JSON.stringify(copy, null, 2)}\n`;
      if (fd === undefined) {
        process.stdout.write(text);
        return;
      }
      writeSync(fd, text);
      fsyncSync(fd);
      closeSync(fd);
      out.result({ file: options.out, categories: Object.keys(copy.values), consents: copy.consents.length }, () => [
        `wrote a copy of ${plural(Object.keys(copy.values).length, 'value')} and ${plural(copy.consents.length, 'consent record')} to ${options.out ?? ''} (mode 0600)`,
      ]);
    });

  contextOptions(
    subject
      .command('erase')
      .description("erase a child (or some categories): data keys destroyed, ciphertext deleted, audit pseudonym key destroyed")
      .argument('<subject>', "the child's subject id")
      .option('--categories <list>', 'only these categories'),
    DEFAULTS,
  )
    .addHelpText(
      'after',
      `
Erased values leave the blind index too, so a later \`childvault scan\` no longer finds copies of
them in logs or other stores: scan those first. A subject the vault holds nothing about is
reported as such (exit 0: an erasure retried finds nothing left).

Example:
  $ childvault scan service.db logs/ --db pool.db --key-file master.key --policy policy.json
  $ childvault subject erase u:1001 --db pool.db --key-file master.key --policy policy.json`,
    )
    .action(async (id: string, options: EraseOptions, command: Command) => {
      const out = outputFor(command);
      const receipt = await withVault(command, (vault) =>
        vault.erase(id, accessContext(options, DEFAULTS), options.categories === undefined ? {} : { categories: parseListOption(options.categories) as never[] }),
      );
      if (receipt.erased.length > 0) {
        out.notice('warning: later `childvault scan` runs cannot find the erased values any more (their blind-index digests went with them); scan logs and other stores for copies before erasing');
      }
      out.result(receipt, () => {
        if (!receipt.found) return ['the vault held nothing about this subject (no value, consent, approval scope or audit pseudonym): nothing was erased'];
        return [
          receipt.erased.length > 0 ? `erased ${receipt.erased.join(', ')} at ${receipt.erasedAt.toISOString()}` : 'nothing was held for these categories',
          ...(receipt.pseudonymDestroyed ? ['the audit pseudonym key is destroyed: past entries no longer link to this id'] : []),
        ];
      });
    });

  contextOptions(
    subject.command('protections').description("the child's protective defaults: on until a guardian consents to the purpose that lifts each").argument('<subject>', "the child's subject id"),
    { role: 'service', purpose: 'account' },
  )
    .addHelpText('after', '\nExample:\n  $ childvault subject protections u:1001 --db pool.db --key-file master.key --policy policy.json')
    .action(async (id: string, options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const protections = await withVault(command, (vault) => vault.protections(id, accessContext(options, { role: 'service', purpose: 'account' })));
      out.result(protections, () => table([['protection', 'state'], ...Object.entries(protections).map(([k, on]) => [k, on ? 'on' : 'off (guardian consented)'])]));
    });
}
