/** `childvault import FILE`: loads plaintext minor data from a legacy store into the vault. */
import type { Command } from 'commander';
import { VaultError } from '../../errors.js';
import { importJsonl, type ImportSummary } from '../../import/jsonl-import.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { formatDuration } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
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
      const summary = await withVault(command, async (vault) => {
        let bar = out.progress('validating', 1);
        let phase: 'validate' | 'import' = 'validate';
        try {
          return await importJsonl(vault, file, {
            ctx: accessContext(options, DEFAULTS),
            batchSize,
            skipInvalid: options.skipInvalid === true,
            onProgress: (p) => {
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
      });
      report(out, summary);
      if (!summary.imported) {
        throw new VaultError('VALIDATION', `${summary.errors.length} invalid line(s) in ${file}; nothing was imported (fix them, or rerun with --skip-invalid)`);
      }
    });
}

function report(out: ReturnType<typeof outputFor>, s: ImportSummary): void {
  out.result(s, () => [
    ...s.errors.slice(0, SHOWN_ERRORS).map((e) => `line ${e.line}: ${e.message}`),
    ...(s.errors.length > SHOWN_ERRORS ? [`… and ${s.errors.length - SHOWN_ERRORS} more invalid lines`] : []),
    s.imported
      ? `imported ${s.values} value(s) for ${s.subjects} subject(s) in ${s.batches} batch(es), ${formatDuration(s.durationMs)}` +
        (s.skipped > 0 ? `; skipped ${s.skipped} invalid line(s)` : '')
      : `validated ${s.lines} line(s): ${s.errors.length} invalid`,
  ]);
}
