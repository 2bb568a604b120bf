/**
 * `childvault get`: reads one child's values as a service or a staff member would, decided and
 * audited like `vault.get`. It shows which values are held and the view the grant gives; the
 * plaintext (in that view) only with --reveal.
 */
import type { Command } from 'commander';
import { type BuiltInCategories, type CategoryName, VaultError, type View, VIEWS } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseListOption } from '../parse.js';
import { revealAll } from '../revealed.js';

const DEFAULTS = { role: 'service', purpose: 'account' };

interface GetOptions extends ContextOptions {
  readonly categories: string;
  readonly approval?: string;
  readonly view?: string;
  readonly reveal?: boolean;
}

/** `--view location=coarse,contact=presence` → { location: 'coarse', contact: 'presence' }. */
function parseViewOption(text: string): Partial<Record<CategoryName<BuiltInCategories>, View>> {
  const views: Record<string, View> = {};
  for (const item of parseListOption(text)) {
    const [category, view, extra] = item.split('=');
    if (category === undefined || category === '' || extra !== undefined || !(VIEWS as readonly string[]).includes(view ?? '')) {
      throw new VaultError('USAGE', `--view takes CATEGORY=VIEW pairs separated by commas, VIEW one of ${VIEWS.join(', ')} (e.g. --view location=coarse)`);
    }
    views[category] = view as View;
  }
  return views;
}

export function registerGet(program: Command): void {
  contextOptions(
    program
      .command('get')
      .description("read a child's values for a purpose, decided by the policy and audited: shows what is held and in which view; --reveal prints the values")
      .argument('<subject>', "the child's subject id")
      .requiredOption('--categories <list>', 'comma-separated categories to read')
      .option('--approval <id>', "an officer's approval (staff roles read only with one: `childvault approval create`)")
      .option('--view <pairs>', 'ask for narrower views than the grant gives, e.g. location=coarse or contact=presence')
      .option('--reveal', 'print the values (in the view the grant gives) on stdout'),
    DEFAULTS,
  )
    .addHelpText(
      'after',
      `
Nothing held in the categories asked for (never written, erased, past retention) exits 0 and says
so, once the role and purpose allow the read; a refusal exits 4 with its code.
Example:
  $ childvault get u:1001 --categories location --actor staff:mod-wang --role moderator --purpose safety-review \\
      --approval apv_01936f… --reveal --db pool.db --key-file master.key --policy policy.json
  $ childvault get u:1001 --categories location --actor staff:mod-wang --role moderator --purpose safety-review \\
      --approval apv_01936f… --view location=presence --db pool.db --key-file master.key --policy policy.json --json`,
    )
    .action(async (subject: string, options: GetOptions, command: Command) => {
      const out = outputFor(command);
      // Checked by the vault, which names an unknown category and lists the known ones.
      const categories = parseListOption(options.categories) as CategoryName<BuiltInCategories>[];
      if (categories.length === 0) throw new VaultError('USAGE', '--categories needs at least one category');
      const ctx = { ...accessContext(options, DEFAULTS), ...(options.approval === undefined ? {} : { approval: options.approval }) };
      const views = options.view === undefined ? undefined : parseViewOption(options.view);
      const read = await withVault(command, async (vault) => {
        const values = await vault.get(subject, categories, ctx, views === undefined ? {} : { views });
        // Revealed inside: the values are used (printed) where they were read, on request only.
        return { views: Object.fromEntries(Object.entries(values).map(([c, s]) => [c, s.view])), revealed: options.reveal === true ? revealAll(values) : undefined };
      }, { flags: { categories: '--categories', 'options.views': '--view' } });
      const absent = categories.filter((c) => !Object.hasOwn(read.views, c));
      const held = Object.fromEntries(Object.entries(read.views).map(([c, view]) => [c, read.revealed?.[c] ?? { view }]));
      out.result({ subject, held, absent }, () => [
        ...(Object.keys(held).length === 0
          ? [`nothing held about ${subject} in ${categories.join(', ')}`]
          : table([
              ['category', 'view', 'value'],
              ...Object.entries(read.views).map(([c, view]) => {
                const shown = read.revealed?.[c];
                return [c, view, view === 'presence' ? 'held (this grant shows only that it exists)' : shown === undefined ? 'redacted (give --reveal to print it)' : JSON.stringify(shown.value)];
              }),
            ])),
        ...(absent.length > 0 && Object.keys(held).length > 0 ? [`not held: ${absent.join(', ')}`] : []),
      ]);
    });
}
