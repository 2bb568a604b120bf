import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyFile, openVault } from '../dist/index.js';
import { benchCtx, benchPolicy } from './policy.js';
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const vault = await openVault({ path: join(dir, 'p.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: benchPolicy, durability: 'normal' });
const location = { lat: 30.27, lon: 120.15, capturedAt: '2026-01-05T08:00:00Z' };
for (let round = 0; round < 3; round++) {
  const n = 3000; const t = performance.now();
  for (let i = 0; i < n; i++) await vault.put(`u:${round}-${i}`, { location }, benchCtx);
  console.log('put µs', ((performance.now() - t) * 1000 / n).toFixed(1));
}
await vault.close();
