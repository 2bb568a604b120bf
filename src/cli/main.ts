/**
 * The childvault CLI: commander parses, the library does the work, and every failure becomes
 * one actionable line on stderr and the exit status of its error code (DESIGN.md §7).
 */
import { Command, CommanderError } from 'commander';
import { isVaultError } from '../index.js';
import { registerApproval } from './commands/approval.js';
import { registerAudit } from './commands/audit.js';
import { registerCanary } from './commands/canary.js';
import { registerConsent } from './commands/consent.js';
import { registerDemo } from './commands/demo.js';
import { registerGet } from './commands/get.js';
import { registerKeys, registerRetention } from './commands/keys.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerPolicy } from './commands/policy.js';
import { registerScan } from './commands/scan.js';
import { registerStatus } from './commands/status.js';
import { registerSubject } from './commands/subject.js';
import { registerUpgrade } from './commands/upgrade.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export const VERSION = '0.1.0';

/** `json`: the command line has --json, so commander's own errors are written as JSON too. */
export function buildProgram({ json = false }: { json?: boolean } = {}): Command {
  const writeUsageError = (text: string, write: (text: string) => void): void => {
    write(errorText(json, 'USAGE', text.replace(/^error: /, '').trim()));
  };
  const program = new Command()
    .name('childvault')
    .description("the special protection pool for children's personal information")
    .version(VERSION)
    .option('--db <path>', 'vault file (env CHILDVAULT_DB)')
    .option('--key-file <path>', 'master key file, mode 0600 (env CHILDVAULT_KEY_FILE; or set CHILDVAULT_MASTER_KEY / CHILDVAULT_PASSPHRASE)')
    .option('--policy <file>', 'access policy, JSON (env CHILDVAULT_POLICY); without one, data commands are refused')
    .option('--config <path>', `config profile naming db, key source and policy (env CHILDVAULT_CONFIG; default ./childvault.config.json when present)`)
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
  registerGet(program);
  registerSubject(program);
  registerKeys(program);
  registerRetention(program);
  registerScan(program);
  registerCanary(program);
  registerUpgrade(program);
  registerPolicy(program);
  for (const command of allCommands(program)) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)').configureOutput({ outputError: writeUsageError });
    namesEveryMissingOption(command);
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/**
 * commander stops at the first required option missing; a user fixing a command line wants every
 * one at once. Its hook for that error (`missingMandatoryOptionValue`) is replaced to list them all.
 */
function namesEveryMissingOption(command: Command): void {
  Object.assign(command, {
    missingMandatoryOptionValue(this: Command): void {
      const missing = this.options.filter((o) => o.mandatory && this.getOptionValue(o.attributeName()) === undefined).map((o) => o.flags);
      this.error(`required option${missing.length === 1 ? '' : 's'} ${missing.map((f) => `'${f}'`).join(', ')} not specified`, { code: 'commander.missingMandatoryOptionValue' });
    },
  });
}

/** An error as the CLI writes it on stderr: `childvault: <what> [CODE]`, or one JSON object with --json. */
function errorText(json: boolean, code: string, message: string, extra: Readonly<Record<string, unknown>> = {}): string {
  return json ? `${JSON.stringify({ error: { code, message, ...extra } })}\n` : `childvault: ${message} [${code}]\n`;
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
  const json = argv.includes('--json');
  const program = buildProgram({ json });
  if (argv.length <= 2) {
    // No command: the help, where output goes, and the status of a usage error (scripts notice).
    process.stdout.write(program.helpInformation());
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    process.exitCode = handleError(error, json);
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
    const extra = { ...(error.field === undefined ? {} : { field: error.field }), ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) };
    process.stderr.write(errorText(json, error.code, error.message, extra));
    return exitCodeFor(error.code);
  }
  // A bug, not a user error: say so without dumping internals (set CHILDVAULT_DEBUG=1 for the stack).
  const debug = process.env['CHILDVAULT_DEBUG'] === '1';
  process.stderr.write(`childvault: internal error${error instanceof Error ? ` (${error.name})` : ''}; please report it${debug ? '' : ' (CHILDVAULT_DEBUG=1 shows details)'}\n`);
  if (debug && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  return EXIT.error;
}
