/**
 * A hardened service process (`node --disallow-code-generation-from-strings`, which refuses eval
 * and `new Function`) can use the vault whole: the audit export writer and line reader, which are
 * compiled from the entry declaration where allowed, fall back to loops that write and read the
 * same text.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { entryJsonLine, entryJsonLineByLoop } from '../../src/audit/export-format.js';
import { entryToRow } from '../../src/audit/entry.js';
import { loadSodium } from '../../src/crypto/sodium.js';
import { buildChain } from '../helpers/audit-chain.js';
import { tempDir } from '../helpers/fixtures.js';
import { completion, DIST_INDEX, ROOT } from '../helpers/processes.js';

describe('a process that forbids code generation from strings', () => {
  it('writes the same entry text by loop as the compiled writer', async () => {
    await loadSodium();
    for (const e of buildChain(300).entries) expect(entryJsonLineByLoop(entryToRow(e))).toBe(entryJsonLine(entryToRow(e)));
  });

  it('stores, reads, exports and verifies offline', async () => {
    const dir = tempDir();
    const script = join(dir, 'service.mjs');
    writeFileSync(
      script,
      `import { openVault, generateKeyFile, verifyAuditExportFile } from ${JSON.stringify(DIST_INDEX)};
import { createWriteStream, readFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
const policy = JSON.parse(readFileSync(${JSON.stringify(`${ROOT}docs/policy.example.json`)}, 'utf8'));
const vault = await openVault({ create: true, path: ${JSON.stringify(join(dir, 'p.db'))}, masterKey: await generateKeyFile(${JSON.stringify(join(dir, 'k'))}), policy });
const op = { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' };
await vault.put('u:1', { location: { lat: 30.27, lon: 120.15, capturedAt: '2026-11-01T08:00:00Z' } }, op);
const officer = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' };
const out = createWriteStream(${JSON.stringify(join(dir, 'audit.jsonl'))});
await vault.audit.export(out, {}, officer);
out.end();
await finished(out);
const offline = await verifyAuditExportFile(${JSON.stringify(join(dir, 'audit.jsonl'))}, Buffer.from(vault.audit.publicKey, 'hex'));
const live = await vault.audit.verify(officer);
await vault.close();
let evalRefused = false;
try { new Function('return 1'); } catch { evalRefused = true; }
console.log(JSON.stringify({ offline: offline.ok, entries: offline.entries, live: live.ok, evalRefused }));`,
    );
    const run = await completion(spawn(process.execPath, ['--disallow-code-generation-from-strings', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ offline: true, live: true, evalRefused: true });
  });
});
