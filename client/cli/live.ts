/**
 * A block of lines redrawn in place on a terminal (batch steps, ingest status), and a byte
 * progress bar (cli-progress). Neither is used unless the output is interactive.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from './output.ts';

export interface LiveBlock {
  draw(text: string): void;
}

export function liveBlock(stream: NodeJS.WriteStream = process.stdout): LiveBlock {
  let height = 0;
  return {
    draw(text) {
      const width = stream.columns || 120;
      const lines = text.split('\n').map((l) => (visibleLength(l) > width ? truncate(l, width) : l));
      // Up to the block's first line, then clear from there to the end of the screen.
      if (height > 0) stream.write(`\x1b[${height}A\r\x1b[0J`);
      stream.write(`${lines.join('\n')}\n`);
      height = lines.length;
    },
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what it matches
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (text: string) => text.replace(ANSI, '').length;

function truncate(text: string, width: number): string {
  const plain = text.replace(ANSI, '');
  return `${plain.slice(0, Math.max(0, width - 1))}…`;
}

export interface ByteBar {
  update(sent: number): void;
  stop(): void;
}

/** `Sending ████░░░░ 42% | 1.20 MB / 2.86 MB | 3.10 MB/s | ETA 1s` */
export function byteBar(label: string, total: number, stream: NodeJS.WriteStream = process.stdout): ByteBar {
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {bar} {percentage}% | {sentText} / {totalText} | {rateText} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
      fps: 10,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (sent: number) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return {
      sentText: formatBytes(sent),
      totalText: formatBytes(total),
      rateText: `${formatBytes(sent / seconds)}/s`,
    };
  };
  bar.start(Math.max(total, 1), 0, payload(0));
  return {
    update(sent) {
      bar.update(Math.min(sent, Math.max(total, 1)), payload(sent));
    },
    stop() {
      bar.update(Math.max(total, 1), payload(total));
      bar.stop();
    },
  };
}

/** A percentage bar (a query's progressPercentage). */
export function percentBar(label: string, stream: NodeJS.WriteStream = process.stdout) {
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} {bar} {percentage}% | {state} | {elapsed}`, hideCursor: true, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { state: 'QUEUED', elapsed: '' });
  return {
    update(percent: number, state: string, elapsed = '') {
      bar.update(Math.max(0, Math.min(100, Math.round(percent))), { state, elapsed });
    },
    stop() {
      bar.stop();
    },
  };
}
