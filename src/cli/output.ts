/**
 * Everything the CLI prints goes through here: results to stdout (text or `--json`), one-line
 * errors to stderr, and progress bars only when stderr is a terminal.
 */
import cliProgress from 'cli-progress';

export interface Output {
  readonly json: boolean;
  /** A line of human-readable output (suppressed in --json mode). */
  line(text?: string): void;
  /** The command's result: JSON in --json mode, else the given text lines. */
  result(value: unknown, text: () => string[]): void;
  /** A one-line message on stderr (warnings, notices). */
  notice(text: string): void;
  /** A progress bar on a terminal; a no-op when stderr is piped or in --json mode. */
  progress(label: string, total: number): Progress;
}

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined };

export function createOutput(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Output {
  return {
    json,
    line(text = '') {
      if (!json) stdout.write(`${text}\n`);
    },
    result(value, text) {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else for (const l of text()) stdout.write(`${l}\n`);
    },
    notice(text) {
      stderr.write(`childvault: ${text}\n`);
    },
    progress(label, total) {
      if (json || !stderr.isTTY) return NO_PROGRESS;
      const bar = new cliProgress.SingleBar(
        { format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`, stream: stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      return {
        update(done, newTotal) {
          if (newTotal !== undefined) bar.setTotal(newTotal);
          bar.update(done);
        },
        stop() {
          bar.stop();
        },
      };
    },
  };
}
