/** `childvault subject export|erase|protections`: a guardian's requests about one child. */
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { VaultError } from '../../errors.js';
import type { Sensitive } from '../../guard/sensitive.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseListOption } from '../parse.js';

const DEFAULTS = { role: 'guardian-portal', purpose: 'guardian-access' };

interface ExportOptions extends ContextOptions {
  readonly out?: string;
  readonly reveal?: boolean;
}

interface EraseOptions extends ContextOptions {
  readonly categories?: string;
}

/** Plain JSON of revealed values; binary fields as {"$base64": …}, the import format. */
function revealAll(values: Readonly<Record<string, Sensitive<unknown>>>): Record<string, unknown> {
  const toJson = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return { $base64: Buffer.from(v).toString('base64') };
    if (Array.isArray(v)) return v.map(toJson);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
    return v;
  };
  return Object.fromEntries(Object.entries(values).map(([category, s]) => [category, s.view === 'presence' ? { present: true } : { view: s.view, value: toJson(s.reveal()) }]));
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
        `wrote a copy of ${Object.keys(copy.values).length} value(s) and ${copy.consents.length} consent record(s) to ${options.out ?? ''} (mode 0600)`,
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
    .addHelpText('after', '\nExample:\n  $ childvault subject erase u:1001 --db pool.db --key-file master.key --policy policy.json')
    .action(async (id: string, options: EraseOptions, command: Command) => {
      const out = outputFor(command);
      const receipt = await withVault(command, (vault) =>
        vault.erase(id, accessContext(options, DEFAULTS), options.categories === undefined ? {} : { categories: parseListOption(options.categories) as never[] }),
      );
      out.result(receipt, () => [
        receipt.erased.length > 0 ? `erased ${receipt.erased.join(', ')} at ${receipt.erasedAt.toISOString()}` : 'nothing was held for these categories',
        ...(receipt.pseudonymDestroyed ? ['the audit pseudonym key is destroyed: past entries no longer link to this id'] : []),
      ]);
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
