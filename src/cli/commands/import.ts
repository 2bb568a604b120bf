/** `childvault import FILE`: loads plaintext minor data from a legacy store into the vault. */
import type { Command } from 'commander';
import { importJsonl, type ImportSummary, VaultError } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { formatDuration, plural } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { interruptible } from '../interrupt.js';
import { parseIntegerOption } from '../parse.js';

interface ImportCommandOptions extends ContextOptions {
  readonly batchSize: string;
  readonly skipInvalid?: boolean;
}

const DEFAULTS = { role: 'operator', purpose: 'legacy-import' };
const SHOWN_ERRORS = 20;

export function registerImport(program: Command): void {
  contextOptions(
    program
      .command('import')
      .description('import JSON Lines {"subject","category","value"} from a legacy store (validated first; all or nothing unless --skip-invalid)')
      .argument('<file>', 'JSON Lines file; binary fields as {"$base64": "..."}')
      .option('--batch-size <n>', 'values per transaction', '500')
      .option('--skip-invalid', 'import the valid lines even if some are invalid'),
    DEFAULTS,
  )
    .addHelpText(
      'after',
      `
Each line: {"subject": "u:1001", "category": "location", "value": {"lat": 30.27, "lon": 120.15, "capturedAt": "2026-01-05T08:00:00Z"}}
Example:
  $ childvault import legacy-children.jsonl --db pool.db --key-file master.key --policy policy.json --batch-size 1000`,
    )
    .action(async (file: string, options: ImportCommandOptions, command: Command) => {
      const out = outputFor(command);
      const batchSize = parseIntegerOption(options.batchSize, '--batch-size', 1, 100_000);
      let progress = { phase: 'validate', done: 0, total: 0 };
      const state = (): string =>
        progress.phase === 'validate'
          ? `while validating ${file} (line ${progress.done}); nothing was imported. Run the import again`
          : `${progress.done} of ${plural(progress.total, 'value')} imported, in whole batches: the vault holds exactly those. Run the import again to finish (a put replaces a value, so nothing is doubled)`;
      const summary = await withVault(command, (vault) => interruptible(state, async () => {
        let bar = out.progress('validating', 1);
        let phase: 'validate' | 'import' = 'validate';
        try {
          return await importJsonl(vault, file, {
            ctx: accessContext(options, DEFAULTS),
            batchSize,
            skipInvalid: options.skipInvalid === true,
            onProgress: (p) => {
              progress = p;
              // Both phases count lines (one line is one value): read of the file's, then imported of the valid ones.
              if (p.phase !== phase) {
                bar.stop();
                bar = out.progress('importing ', p.total);
                phase = p.phase;
              }
              bar.update(p.done, p.total);
            },
          });
        } finally {
          bar.stop();
        }
      }));
      report(out, summary);
      if (!summary.imported) {
        throw new VaultError('VALIDATION', `${plural(summary.errors.length, 'invalid line')} in ${file}; nothing was imported (fix ${summary.errors.length === 1 ? 'it' : 'them'}, or rerun with --skip-invalid)`);
      }
      // Not a clean import: a script must notice the lines left behind (their data is still only in the legacy store).
      if (summary.skipped > 0) {
        throw new VaultError('VALIDATION', `skipped ${plural(summary.skipped, 'invalid line')} of ${file} (listed above); the valid lines were imported. Fix the skipped lines and import them`);
      }
    });
}

function report(out: ReturnType<typeof outputFor>, s: ImportSummary): void {
  out.result(s, () => [
    ...s.errors.slice(0, SHOWN_ERRORS).map((e) => `line ${e.line}: ${e.message}`),
    ...(s.errors.length > SHOWN_ERRORS ? [`… and ${plural(s.errors.length - SHOWN_ERRORS, 'more invalid line')}`] : []),
    s.imported
      ? `imported ${plural(s.values, 'value')} for ${plural(s.subjects, 'subject')} in ${plural(s.batches, 'batch', 'batches')}, ${formatDuration(s.durationMs)}` +
        (s.skipped > 0 ? `; skipped ${plural(s.skipped, 'invalid line')}` : '')
      : `validated ${plural(s.lines, 'line')}: ${s.errors.length} invalid`,
  ]);
}
