/**
 * The childvault CLI: commander parses, the library does the work, and every failure becomes
 * one actionable line on stderr and the exit status of its error code (DESIGN.md §7).
 */
import { Command, CommanderError } from 'commander';
import { isVaultError } from '../errors.js';
import { registerApproval } from './commands/approval.js';
import { registerAudit } from './commands/audit.js';
import { registerCanary } from './commands/canary.js';
import { registerConsent } from './commands/consent.js';
import { registerDemo } from './commands/demo.js';
import { registerKeys, registerRetention } from './commands/keys.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerScan } from './commands/scan.js';
import { registerStatus } from './commands/status.js';
import { registerSubject } from './commands/subject.js';
import { registerUpgrade } from './commands/upgrade.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command()
    .name('childvault')
    .description("the special protection pool for children's personal information")
    .version(VERSION)
    .option('--db <path>', 'vault file (env CHILDVAULT_DB)')
    .option('--key-file <path>', 'master key file, mode 0600 (env CHILDVAULT_KEY_FILE; or set CHILDVAULT_MASTER_KEY / CHILDVAULT_PASSPHRASE)')
    .option('--policy <file>', 'access policy, JSON (env CHILDVAULT_POLICY); without one, data commands are refused')
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: writeUsageError })
    .exitOverride()
    .addHelpText(
      'after',
      `
Secrets are never read from the command line: the master key comes from a key file or the
environment. Exit status: 0 ok, 1 error, 2 usage, 3 integrity failure (tampering, wrong key),
4 refused by policy, 5 leak found.

Example:
  $ childvault init --db pool.db --new-key-file master.key
  $ childvault import children.jsonl --db pool.db --key-file master.key --policy policy.json`,
    );
  registerInit(program);
  registerStatus(program);
  registerImport(program);
  registerDemo(program);
  registerAudit(program);
  registerConsent(program);
  registerApproval(program);
  registerSubject(program);
  registerKeys(program);
  registerRetention(program);
  registerScan(program);
  registerCanary(program);
  registerUpgrade(program);
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)').configureOutput({ outputError: writeUsageError });
  return program;
}

/** commander's own errors in the CLI's one-line form, `childvault: <what> [USAGE]` (JSON with --json). */
function writeUsageError(text: string, write: (text: string) => void): void {
  const message = text.replace(/^error: /, '').trim();
  if (process.argv.includes('--json')) write(`${JSON.stringify({ error: { code: 'USAGE', message } })}\n`);
  else write(`childvault: ${message} [USAGE]\n`);
}

/**
 * A reader that stops early (`childvault status | head -4`) closes the pipe: the rest of the
 * output is dropped and the command finishes its work (a rotation or an import is not cut off
 * half-way), instead of dying of an EPIPE stack trace.
 */
function dropOutputOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** Runs the CLI; sets process.exitCode rather than exiting, so output is flushed. */
export async function main(argv: readonly string[]): Promise<void> {
  dropOutputOnClosedPipe(process.stdout);
  const program = buildProgram();
  if (argv.length <= 2) {
    // No command: the help, where output goes, and the status of a usage error (scripts notice).
    process.stdout.write(program.helpInformation());
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    process.exitCode = handleError(error, argv.includes('--json'));
  }
}

function handleError(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help / version text).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  if (isVaultError(error)) {
    // With --json, errors are JSON too (on stderr), so a script reads one format.
    if (json) process.stderr.write(`${JSON.stringify({ error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) } })}\n`);
    else process.stderr.write(`childvault: ${error.message} [${error.code}]\n`);
    return exitCodeFor(error.code);
  }
  // A bug, not a user error: say so without dumping internals (set CHILDVAULT_DEBUG=1 for the stack).
  const debug = process.env['CHILDVAULT_DEBUG'] === '1';
  process.stderr.write(`childvault: internal error${error instanceof Error ? ` (${error.name})` : ''}; please report it${debug ? '' : ' (CHILDVAULT_DEBUG=1 shows details)'}\n`);
  if (debug && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  return EXIT.error;
}
