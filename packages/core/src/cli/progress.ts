/**
 * A one-line progress bar for long runs, drawn on stderr only when it is a terminal.
 * @module
 */
import type { CliOutput } from './io.js';
import { formatCount } from './table.js';

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  /** Least time between redraws. @defaultValue 100 ms (at most ~10 redraws a second) */
  intervalMs?: number;
  /** What is counted. @defaultValue 'events' */
  unit?: string;
}

/**
 * Draws `[████░░░░]  42%  12,345/30,000 events  8,123/s  ETA 0:02` on one line, redrawn in
 * place at most every `intervalMs`, and erased by {@link ProgressBar.finish}.
 */
export class ProgressBar {
  private readonly started: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private readonly intervalMs: number;
  private readonly unit: string;
  /** How many times the line was drawn (for tests). */
  draws = 0;

  constructor(
    private readonly out: CliOutput,
    private readonly total: number,
    private readonly now: () => number,
    options: ProgressOptions = {},
  ) {
    this.started = now();
    this.intervalMs = options.intervalMs ?? 100;
    this.unit = options.unit ?? 'events';
  }

  /** Reports that `done` items are finished; redraws when the interval has passed. */
  update(done: number): void {
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs && done < this.total) return;
    this.lastDraw = t;
    this.drawn = true;
    this.draws++;
    this.out.write(`\r\x1b[2K${this.render(done, t)}`);
  }

  /** Erases the bar, leaving the cursor at the start of an empty line. */
  finish(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** The text of the bar for `done` items at time `t`. */
  render(done: number, t: number): string {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const seconds = Math.max(0, (t - this.started) / 1000);
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? formatEta((this.total - done) / rate) : '--:--';
    const text = `${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatCount(done)}/${formatCount(this.total)} ${this.unit}  ${formatCount(Math.round(rate))}/s  ETA ${eta}`;
    const columns = this.out.columns || 80;
    const barWidth = Math.max(0, Math.min(30, columns - text.length - 5));
    if (barWidth < 5) return text;
    const filled = Math.round(fraction * barWidth);
    return `[${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]  ${text}`;
  }
}

/** `m:ss`, or `h:mm:ss` from an hour up. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
