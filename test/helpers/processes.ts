/**
 * Real child processes for integration tests: the built CLI (`bin/childvault`) and small ESM
 * scripts that import the built library. `npm test` builds first, so dist/ is current.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST_INDEX = `${ROOT}dist/index.js`;
export const CLI = `${ROOT}bin/childvault`;

if (!existsSync(DIST_INDEX)) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');

export interface Completed {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Waits for `child` to exit and collects its output. */
export function completion(child: ChildProcess): Promise<Completed> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the built CLI with `args`, a clean environment plus `env`, and optional stdin text. */
export function runCli(args: readonly string[], env: Record<string, string> = {}, cwd: string = ROOT): Promise<Completed> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return completion(child);
}

/** Starts an ESM script that can `import { ... } from 'childvault'` (the built library). */
export function startScript(source: string, env: Record<string, string> = {}): ChildProcess {
  const code = source.replaceAll("from 'childvault'", `from ${JSON.stringify(DIST_INDEX)}`);
  return spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runScript(source: string, env: Record<string, string> = {}): Promise<Completed> {
  return completion(startScript(source, env));
}
