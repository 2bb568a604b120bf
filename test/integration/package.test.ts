/**
 * The published package, as a user gets it: `npm pack` on a copy of this repository (so `prepack`
 * and `prepare` run there, and never delete or rewrite the dist/ that other test files are reading),
 * then `npm install` of the tarball into an empty project, where `npx childvault demo`, a type check
 * of `import { openVault, keyFile, z } from 'childvault'` and that import at run time must work
 * from node_modules/childvault: migrations, the example policy and the audit verifier's worker
 * file are all found relative to the installed files.
 *
 * Slow by nature: the install compiles better-sqlite3 from source (about two minutes on two
 * cores), so the whole file runs once in `beforeAll`. Every step that cannot run fails with the
 * command, its exit code and the end of its output; nothing is skipped.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntries } from '../../bench/audit-log-builder.js';
import { PARALLEL_MIN_ENTRIES } from '../../src/audit/parallel-verify.js';
import { generateKeyFile, keyFile, openVault } from '../../src/index.js';
import { expectDemoRan } from '../helpers/demo.js';
import { permissivePolicy } from '../helpers/policy.js';
import { completion, ROOT, type Completed } from '../helpers/processes.js';

/** The repository's own TypeScript, to type-check against the installed package as a user's tsc would. */
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** What a fresh clone holds besides these (installed, built or local) is copied for packing. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', 'coverage', 'tmp']);
/** A file left in dist/ from an earlier build: `prepack` must clean it out of the tarball. */
const STALE = join('dist', 'stale-module-from-an-old-build.js');

interface PackedFile {
  readonly path: string;
}
interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly PackedFile[];
}

/**
 * The environment of a user's shell: without the variables `npm test` sets for its own package
 * (a nested npm would otherwise take /work/main for its project), and without this repository's
 * node_modules/.bin on PATH, so `npx childvault` can only find the installed package.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'INIT_CWD' || name === 'npm_config_local_prefix') continue;
    // Keep npm's own settings (cache, userconfig...), drop what describes the running package.
    if (name.startsWith('npm_') && !name.startsWith('npm_config_')) continue;
    env[name] = value;
  }
  env['PATH'] = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((entry) => !entry.includes(`node_modules${sep}.bin`))
    .join(delimiter);
  return { ...env, ...extra };
}

/** Runs `command` to completion; with `mustSucceed`, a non-zero exit throws with its output. */
async function run(command: string, args: readonly string[], cwd: string, options: { env?: Record<string, string>; mustSucceed?: boolean } = {}): Promise<Completed & { readonly seconds: number }> {
  const started = performance.now();
  const child = spawn(command, args, { cwd, env: userEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const done = await completion(child);
  const seconds = (performance.now() - started) / 1000;
  if (options.mustSucceed === true && done.code !== 0) {
    const tail = (text: string) => text.split('\n').slice(-40).join('\n');
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} exited ${done.code ?? done.signal ?? '?'} after ${seconds.toFixed(0)}s\n--- stdout (end)\n${tail(done.stdout)}\n--- stderr (end)\n${tail(done.stderr)}`);
  }
  return { ...done, seconds };
}

/** Every .ts module under `src`, as the dist/ paths the build makes of it (without extension). */
function builtModules(src: string, dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return builtModules(src, path);
    return entry.name.endsWith('.ts') ? [`dist/${relative(src, path).split(sep).join('/').replace(/\.ts$/, '')}`] : [];
  });
}

/**
 * Valid as TypeScript and as JavaScript: type-checked as check.mts, run as check.mjs. The custom
 * category is built with the `z` childvault exports; `sameZod` shows the project's own zod is the
 * very same module (one copy, the peer dependency).
 */
const CHECK_SOURCE = `import { openVault, keyFile, z } from 'childvault';
import { z as projectZod } from 'zod';

const context = { actor: 'svc:test', role: 'service', purpose: 'account' };
const vault = await openVault({
  path: 'pool.db',
  masterKey: keyFile('master.key'),
  policy: 'policy.json',
  categories: { nickname: { schema: z.string().min(1).max(20), retentionDays: 30 } },
});
try {
  await vault.put('u:1', { nickname: 'Xiaoming' }, context);
  const { nickname } = await vault.get('u:1', ['nickname'], context);
  const audit = await vault.audit.verify(context);
  // Compared here, not printed: the child's value never reaches the output.
  console.log(JSON.stringify({ shown: String(nickname), revealedIntact: nickname?.reveal() === 'Xiaoming', sameZod: z === projectZod, auditOk: audit.ok, auditEntries: audit.entries }));
} finally {
  await vault.close();
}
`;

/** The same import with a value of the wrong type: tsc must refuse it (the types are real, not `any`). */
const WRONG_SOURCE = `import { openVault, keyFile, z } from 'childvault';

const vault = await openVault({
  path: 'pool.db',
  masterKey: keyFile('master.key'),
  categories: { nickname: { schema: z.string(), retentionDays: 30 } },
});
await vault.put('u:1', { nickname: 42 }, { actor: 'svc:test', role: 'service', purpose: 'account' });
`;

/**
 * Preloaded into the check script: wraps the real Worker class (workers still run) to write down
 * each worker's entry file, so the test sees which file the installed package starts.
 */
const WORKER_SPY = `const { appendFileSync } = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const threads = require('node:worker_threads');
const RealWorker = threads.Worker;
threads.Worker = class extends RealWorker {
  constructor(file, options) {
    appendFileSync(process.env.WORKER_LOG, String(file) + '\\n');
    super(file, options);
  }
};
syncBuiltinESMExports();
`;

/**
 * No --types or --skipLibCheck: the project's tsc finds what childvault's declarations need (the
 * types of better-sqlite3, whose Database the guard API takes, and of Node) where the install put
 * them, and checks the declarations themselves.
 */
const TSC_ARGS = ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--strict'];

let work: string;
let source: string;
let project: string;
let installed: string;
let packed: PackResult;
let timings: Record<string, number>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'childvault-package-'));
  timings = {};

  // 1. A copy of the repository (what a fresh clone holds), with a stale file in dist/.
  source = join(work, 'source');
  cpSync(ROOT, source, { recursive: true, filter: (path) => !NOT_COPIED.has(relative(ROOT, path).split(sep)[0] ?? '') });
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  mkdirSync(join(source, 'dist'));
  writeFileSync(join(source, STALE), 'export const stale = true;\n');

  // 2. npm pack: prepack cleans dist/, prepare builds it afresh.
  const out = join(work, 'out');
  mkdirSync(out);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', out], source, { mustSucceed: true });
  timings['npm pack'] = pack.seconds;
  const results = JSON.parse(pack.stdout) as PackResult[];
  if (results.length !== 1 || results[0] === undefined) throw new Error(`npm pack --json listed ${results.length} packages, expected 1:\n${pack.stdout}`);
  packed = results[0];
  const tarball = join(out, packed.filename);
  if (!existsSync(tarball)) throw new Error(`npm pack reported ${packed.filename} but ${out} holds ${readdirSync(out).join(', ')}`);

  // 3. An empty project that installs the tarball. Tarballs come from the npm cache that the
  // repository's own `npm ci` filled; --prefer-offline rather than --offline because npm 11
  // resolves a new dependency from the full registry document, while `npm ci` caches only the
  // abbreviated one (another Accept header, so no cache hit offline): see README "Install from npm".
  project = join(work, 'project');
  mkdirSync(project);
  await run('npm', ['init', '-y'], project, { mustSucceed: true });
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, { mustSucceed: true });
  timings['npm install (compiles better-sqlite3)'] = install.seconds;
  installed = join(project, 'node_modules', 'childvault');

  // 4. A vault with a log long enough for the audit verification to use worker threads.
  writeFileSync(join(project, 'policy.json'), JSON.stringify(permissivePolicy(['nickname'])));
  const vault = await openVault({ create: true, path: join(project, 'pool.db'), masterKey: await generateKeyFile(join(project, 'master.key')) });
  await vault.close();
  await appendAuditEntries(join(project, 'pool.db'), keyFile(join(project, 'master.key')), PARALLEL_MIN_ENTRIES);
  writeFileSync(join(project, 'check.mts'), CHECK_SOURCE);
  writeFileSync(join(project, 'check.mjs'), CHECK_SOURCE);
  writeFileSync(join(project, 'wrong.mts'), WRONG_SOURCE);
  writeFileSync(join(project, 'worker-spy.cjs'), WORKER_SPY);
}, 900_000);

afterAll(() => {
  // The wall times of the slow steps, for the README's note and for anyone tuning CI.
  if (timings !== undefined) console.log(`package test: ${Object.entries(timings).map(([step, s]) => `${step} ${s.toFixed(1)}s`).join(', ')}`);
  if (packed !== undefined) console.log(`tarball: ${packed.filename}, ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the build, the CLI, the migrations, the docs and the README', () => {
    const paths = packed.files.map((f) => f.path);
    const migrations = readdirSync(join(source, 'migrations')).filter((f) => f.endsWith('.sql'));
    const docs = readdirSync(join(source, 'docs')).filter((f) => f.endsWith('.md'));
    expect(migrations.length).toBeGreaterThan(0);
    expect(docs.length).toBeGreaterThan(0);
    expect(paths).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'bin/childvault', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/audit/verify-worker.js', 'docs/policy.example.json',
      ...migrations.map((m) => `migrations/${m}`), ...docs.map((d) => `docs/${d}`),
    ]));
    expect(packed.entryCount).toBe(paths.length);
  });

  it('ships exactly what src/ compiles to: no stale module, no source maps, no tests, sources or tooling', () => {
    const paths = packed.files.map((f) => f.path);
    const dist = paths.filter((p) => p.startsWith('dist/')).sort();
    // The copy's src/, not the repository's: the tree may have changed since it was copied.
    const expected = builtModules(join(source, 'src')).flatMap((m) => [`${m}.js`, `${m}.d.ts`]).sort();
    expect(dist).toEqual(expected);
    expect(paths).not.toContain(STALE.split(sep).join('/'));
    const forbidden = paths.filter((p) => /^(test|src|bench|\.ci|node_modules|coverage)\//.test(p) || /\.test\.|\.map$|\.tsbuildinfo$|^tsconfig|^vitest|^eslint|^package-lock\.json$/.test(p));
    expect(forbidden).toEqual([]);
  });
});

describe('installed from the tarball into an empty project', () => {
  it('is a publishable package with one copy of zod 4, the peer dependency, at the top', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['private']).toBeUndefined();
    expect(manifest['peerDependencies']).toEqual({ zod: expect.stringMatching(/^\^4\./) as string });
    expect(Object.keys(manifest['dependencies'] as object)).not.toContain('zod');
    const zod = JSON.parse(readFileSync(join(project, 'node_modules', 'zod', 'package.json'), 'utf8')) as { version: string };
    expect(zod.version).toMatch(/^4\./);
    expect(existsSync(join(installed, 'node_modules', 'zod'))).toBe(false);
    // better-sqlite3's native module was built (or fetched) by its install script.
    expect(statSync(join(project, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')).size).toBeGreaterThan(0);
  });

  it('`npx childvault demo` runs from node_modules/childvault and exits 0', async () => {
    const demo = await run('npx', ['childvault', 'demo'], project);
    expectDemoRan(demo);
    expect(demo.stdout).toMatch(/cleaned up .*childvault-demo-/);
  }, 180_000);

  it('type-checks `import { openVault, keyFile, z } from \'childvault\'` with tsc --strict (nodenext)', async () => {
    const check = await run(process.execPath, [TSC, ...TSC_ARGS, 'check.mts'], project);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  }, 180_000);

  it('refuses a value of the wrong type for a custom category at type-check time', async () => {
    const wrong = await run(process.execPath, [TSC, ...TSC_ARGS, 'wrong.mts'], project);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toMatch(/wrong\.mts\(8,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  }, 180_000);

  it('works at run time: migrations found, one zod, and the audit verifier starts its worker from the installed files', async () => {
    const workerLog = join(project, 'workers.log');
    const result = await run(process.execPath, ['--require', './worker-spy.cjs', 'check.mjs'], project, { env: { WORKER_LOG: workerLog } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      shown: '[Sensitive nickname: redacted]',
      revealedIntact: true,
      sameZod: true,
      auditOk: true,
      auditEntries: expect.any(Number) as number,
    });
    expect((JSON.parse(result.stdout) as { auditEntries: number }).auditEntries).toBeGreaterThan(PARALLEL_MIN_ENTRIES);
    expect(existsSync(workerLog), 'no worker thread started: parallel verification needs more than one core (CI has two)').toBe(true);
    const workers = readFileSync(workerLog, 'utf8').trim().split('\n');
    expect(workers.length).toBeGreaterThan(1);
    expect(new Set(workers)).toEqual(new Set([pathToFileURL(join(installed, 'dist', 'audit', 'verify-worker.js')).href]));
  }, 180_000);
});
