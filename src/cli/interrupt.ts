/**
 * Ctrl-C during a long command (`keys rotate`, `import`): the process ends at once with status 130,
 * after one line saying what the work had committed and how to resume it. Ending at once is safe:
 * the handler runs between the command's transactions (each is synchronous, so no signal handler
 * runs inside one), every committed batch stays, and those commands are built to be rerun.
 */
import { EXIT_INTERRUPTED } from './exit-codes.js';

/** Runs `fn`; a SIGINT meanwhile prints `state()` on stderr and exits 130. */
export async function interruptible<T>(state: () => string, fn: () => Promise<T>): Promise<T> {
  const onInterrupt = (): void => {
    process.stderr.write(`\nchildvault: interrupted: ${state()} [INTERRUPTED]\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await fn();
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}
