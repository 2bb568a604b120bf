/**
 * `childvault scan PATH...`: looks for the vault's children's values and canaries in other
 * stores. Prints where (file, table/column/rowid or line) and what kind, never the value; exits 5
 * when anything is found, 0 when clean.
 */
import type { Command } from 'commander';
import { type LeakMatch, type ScanFinding, type ScanLocation, type ScanResult, VaultError } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { formatBytes, plural, table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';

const DEFAULTS = { role: 'operator', purpose: 'leak-detection' };

interface ScanCommandOptions extends ContextOptions {
  readonly patterns?: boolean;
}

export function describeLocation(l: ScanLocation): string {
  if (l.type === 'sqlite' && l.rowid === null && (l.field === '<table name>' || l.field === '<column name>')) {
    return l.column === '' ? `${l.table} (its name)` : `${l.table}.${l.column} (its name)`;
  }
  if (l.type === 'sqlite') return `${l.table}.${l.column} rowid ${l.rowid ?? '-'}${l.field === undefined ? '' : ` ${l.field}`}`;
  if (l.type === 'text') return `line ${l.line}${l.field === undefined ? '' : ` ${l.field}`}`;
  return 'whole file';
}

export function describeKind(m: LeakMatch): [kind: string, what: string] {
  switch (m.kind) {
    case 'subject-data':
      return ["child's data", m.field];
    case 'canary':
      return ['CANARY', m.field];
    case 'sensitive':
      return ['Sensitive', m.category];
    case 'pattern':
      return ['pattern (warning)', m.pattern];
  }
}

function findingLines(findings: readonly ScanFinding[]): string[] {
  return table([['file', 'where', 'match', 'field'], ...findings.map((f) => [f.file, describeLocation(f.location), ...describeKind(f.match)])]);
}

function summaryLine(r: ScanResult): string {
  const bytes = r.files.reduce((n, f) => n + f.bytes, 0);
  const units = r.files.reduce((n, f) => n + f.units, 0);
  const leaks = r.findings.filter((f) => f.match.kind !== 'pattern').length;
  const warnings = r.findings.length - leaks;
  const truncated = r.files.filter((f) => f.truncated).length;
  const incomplete = r.files.filter((f) => !f.complete).length;
  return `scanned ${plural(r.files.length, 'file')}, ${units} rows/lines, ${formatBytes(bytes)}: ${leaks === 0 ? 'no data of the vault\'s children' : `${plural(leaks, 'finding')} of the vault's children's data`}${warnings > 0 ? `, ${plural(warnings, 'pattern warning')}` : ''}${truncated > 0 ? ` (only the first findings of ${plural(truncated, 'file')} listed)` : ''}${incomplete > 0 ? `; ${plural(incomplete, 'file')} NOT fully scanned (see the notes)` : ''}`;
}

export function registerScan(program: Command): void {
  contextOptions(
    program
      .command('scan')
      .description("look for the vault's children's data and canaries in other SQLite files and JSONL/CSV/log files (reports where, never the value)")
      .argument('<paths...>', 'files or directories to scan')
      .option('--patterns', 'also warn about anything that looks like a phone, e-mail, coordinates, or image/audio bytes (adults\' data matches too)'),
    DEFAULTS,
  )
    .addHelpText('after', '\nExit status: 0 clean; 5 when data of the vault\'s children, a canary, or (with --patterns) a pattern is found;\n1 when nothing was found but some file could not be read completely (SCAN_INCOMPLETE).\n\nExample:\n  $ childvault scan service.db logs/ --db pool.db --key-file master.key --policy policy.json')
    .action(async (paths: string[], options: ScanCommandOptions, command: Command) => {
      const out = outputFor(command);
      const result = await withVault(command, async (vault) => {
        const bar = out.progress('scanning', 1);
        try {
          return await vault.guard.scan(paths, accessContext(options, DEFAULTS), {
            patterns: options.patterns === true,
            onProgress: (_file, done, total) => {
              bar.update(done, Math.max(total, 1));
            },
          });
        } finally {
          bar.stop();
        }
      });
      out.result(result, () => [...(result.findings.length > 0 ? [...findingLines(result.findings), ''] : []), summaryLine(result), ...result.files.flatMap((f) => f.notes.map((n) => `note: ${f.file}: ${n}`)), ...result.skipped.map((k) => `skipped: ${k.path}: ${k.reason}`)]);
      // Anything found exits 5, pattern warnings too: whoever passed --patterns asked to be stopped by them.
      const leaks = result.findings.filter((f) => f.match.kind !== 'pattern').length;
      if (leaks > 0) throw new VaultError('PLAINTEXT_LEAK', `${plural(leaks, 'finding')} of the vault's children's data outside the vault: erase ${leaks === 1 ? 'it' : 'them'} there and find the flow that wrote ${leaks === 1 ? 'it' : 'them'}`);
      if (result.findings.length > 0) throw new VaultError('PLAINTEXT_LEAK', `${plural(result.findings.length, 'pattern warning')}: review ${result.findings.length === 1 ? 'it' : 'them'}; patterns also match adults' data`);
      // Nothing found in files that could not all be read is not "clean".
      const incomplete = result.files.filter((f) => !f.complete).length;
      if (incomplete > 0) throw new VaultError('SCAN_INCOMPLETE', `nothing found, but ${plural(incomplete, 'file')} could not be read completely (compressed or encrypted; see the notes): decompress them and scan again`);
    });
}
