/**
 * Progress bars on standard error, shown only when it is a terminal: piped or CI output stays clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/** A bar with rows/s and ETA when `total` is known, a running count otherwise. */
export function startProgress(label: string, total: number | undefined): Progress {
  if (!process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        total === undefined
          ? `${label} {value} rows | {speed} rows/s`
          : `${label} [{bar}] {percentage}% | {value}/{total} | {speed} rows/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total ?? 0, 0, { speed: 0 });
  return {
    update(done) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, { speed: seconds > 0 ? Math.round(done / seconds) : 0 });
    },
    stop() {
      bar.stop();
    },
  };
}
