/**
 * The lint rule that keeps src/'s import graph pointing one way (eslint/import-layers.js), run by
 * ESLint's RuleTester on file names under a src/ it is told about.
 */
import { RuleTester } from 'eslint';
import { describe, it } from 'vitest';
import { importLayers } from '../../../eslint/import-layers.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });
const srcDir = '/project/src';
const options = [{ layers: [['errors'], ['format'], ['store'], ['audit', 'scan'], ['vault'], ['index'], ['cli']], srcDir, apiOnly: { cli: ['index', 'format', 'store/rows'] } }];
const at = (path: string) => `${srcDir}/${path}`;

tester.run('import-layers', importLayers, {
  valid: [
    { filename: at('audit/log.ts'), code: "import { x } from '../store/rows.js';", options },
    { filename: at('audit/log.ts'), code: "import { y } from './entry.js';", options },
    { filename: at('audit/log.ts'), code: "import { VaultError } from '../errors.js'; import { z } from 'zod';", options },
    { filename: at('vault.ts'), code: "import { a } from './audit/log.js'; export { b } from './scan/scan.js';", options },
    { filename: at('cli/commands/get.ts'), code: "import { openVault } from '../../index.js'; import { print } from '../format.js';", options },
    { filename: at('cli/format.ts'), code: "export { formatDuration } from '../format/duration.js'; import { spec } from '../store/rows.js';", options },
    // Outside src/ (tests, bench) anything goes.
    { filename: '/project/test/x.test.ts', code: "import { a } from '../src/audit/log.js';", options },
  ],
  invalid: [
    { filename: at('store/rows.ts'), code: "import { AuditLog } from '../audit/log.js';", options, errors: [{ messageId: 'upward' }] },
    { filename: at('store/rows.ts'), code: "export * from '../audit/entry.js';", options, errors: [{ messageId: 'upward' }] },
    { filename: at('store/rows.ts'), code: "const m = await import('../vault.js');", options, errors: [{ messageId: 'upward' }] },
    { filename: at('errors.ts'), code: "import { x } from './store/rows.js';", options, errors: [{ messageId: 'upward' }] },
    { filename: at('audit/log.ts'), code: "import { scan } from '../scan/scan.js';", options, errors: [{ messageId: 'sameLayer' }] },
    { filename: at('keys/ring.ts'), code: "import { x } from '../store/rows.js';", options, errors: [{ messageId: 'unknown' }] },
    { filename: at('audit/log.ts'), code: "import { x } from '../keys/ring.js';", options, errors: [{ messageId: 'unknown' }] },
    { filename: at('cli/main.ts'), code: "import { AuditLog } from '../audit/log.js';", options, errors: [{ messageId: 'notPublic' }] },
    { filename: at('cli/main.ts'), code: "import { Vault } from '../vault.js';", options, errors: [{ messageId: 'notPublic' }] },
    { filename: at('cli/main.ts'), code: "import { tx } from '../store/database.js';", options, errors: [{ messageId: 'notPublic' }] },
  ],
});
