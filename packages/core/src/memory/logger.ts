/**
 * Loggers: silent by default, and a dependency-free JSON-lines logger for stderr.
 * Any object with `debug`/`info`/`warn`/`error` (pino, winston, console) also fits {@link Logger}.
 * @module
 */
import type { Logger } from '../contracts.js';

/** Severity of a log record, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const noop = (): void => {};

/**
 * A logger that discards everything: the default wherever a logger is optional, so a library
 * never writes to the host's output unless asked to.
 */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Options for {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /**
   * Where each line goes (without its trailing newline).
   * @defaultValue writes the line and a newline to `process.stderr`
   */
  write?: (line: string) => void;
  /**
   * The time source for the `time` field (ISO-8601).
   * @defaultValue `Date.now`
   */
  now?: () => number;
}

/**
 * A logger that writes one JSON object per record to stderr:
 * `{"level":"warn","time":"2025-03-28T12:00:00.000Z","msg":"…",…fields}`.
 * Records below `level` are dropped. `Error` values in fields are written as
 * `{ name, message, code?, stack }`; fields named `level`, `time` or `msg` cannot overwrite those keys.
 *
 * @param level - The lowest level written. @defaultValue `'info'`
 * @example
 * ```ts
 * const engine = createEngine({ config, logger: consoleLogger('debug') });
 * ```
 */
export function consoleLogger(level: LogLevel = 'info', options: ConsoleLoggerOptions = {}): Logger {
  const min = LEVELS[level];
  if (min === undefined) throw new RangeError(`[leadpipe] [logger] unknown level ${String(level)}: use debug, info, warn or error`);
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const make =
    (lvl: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LEVELS[lvl] < min) return;
      const head = { level: lvl, time: new Date(now()).toISOString(), msg: message };
      // Object.assign keeps the key order of `head` and the values of the last source.
      const record: Record<string, unknown> = fields ? Object.assign({}, head, fields, head) : head;
      write(stringify(record));
    };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}

function stringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, replacer);
  } catch {
    // Circular structures: keep the record readable rather than losing it.
    return JSON.stringify({ level: record.level, time: record.time, msg: record.msg, logError: 'fields could not be serialised' });
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    out.stack = value.stack;
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
