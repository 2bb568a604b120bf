/** `childvault canary plant N`: fake children whose values, found anywhere else, prove a leak. */
import type { Command } from 'commander';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { plural } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseIntegerOption } from '../parse.js';

const DEFAULTS = { role: 'operator', purpose: 'leak-detection' };

export function registerCanary(program: Command): void {
  const canary = program.command('canary').description('canaries: fake, realistic children that no legitimate flow reads');
  contextOptions(
    canary
      .command('plant')
      .description('store N canaries (contact and face photo) in the vault, blind-indexed so `scan` reports them as CANARY')
      .argument('<count>', 'how many (1-1000)')
      .option('--email-domain <domain>', 'canary e-mail addresses at this domain (one you control), not at common webmail domains'),
    DEFAULTS,
  )
    .addHelpText('after', '\nRegister the printed subject ids as accounts where real children\'s accounts live, so flows that copy\nchildren\'s data out carry canaries too.\n\nExample:\n  $ childvault canary plant 5 --db pool.db --key-file master.key --policy policy.json')
    .action(async (countText: string, options: ContextOptions & { emailDomain?: string }, command: Command) => {
      const out = outputFor(command);
      const count = parseIntegerOption(countText, 'count', 1, 1000);
      const receipt = await withVault(command, (vault) => vault.canaries.plant(count, accessContext(options, DEFAULTS), options.emailDomain === undefined ? {} : { emailDomain: options.emailDomain }));
      out.result(receipt, () => [`planted ${plural(receipt.planted, 'canary', 'canaries')} (${receipt.total} live in the vault):`, ...receipt.subjects.map((s) => `  ${s}`)]);
    });
}
