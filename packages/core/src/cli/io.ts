/**
 * What the command-line tool reads from and writes to. `main` takes these as arguments, so tests
 * run it in-process with string buffers and a fake terminal.
 * @module
 */
import { isAbsolute, relative, resolve } from 'node:path';

/** A stream the tool writes text to (process.stdout, process.stderr, or a test buffer). */
export interface CliOutput {
  write(chunk: string): unknown;
  /** True when this is a terminal. */
  isTTY?: boolean;
  /** Terminal width in characters, when known. */
  columns?: number;
}

/** The streams and environment of one `main` call. */
export interface CliIO {
  stdout: CliOutput;
  stderr: CliOutput;
  /** Read when an events file is given as `-`. */
  stdin?: AsyncIterable<string | Uint8Array>;
  /** Whether stderr is a terminal (progress bars are drawn only then). @defaultValue `stderr.isTTY` */
  isTTY?: boolean;
  /** Directory relative paths resolve against. @defaultValue `process.cwd()` */
  cwd?: string;
  /** Monotonic milliseconds, for progress rates. @defaultValue `performance.now` */
  now?: () => number;
}

/** A `CliIO` with its defaults filled in, plus line writers. */
export interface CliContext {
  io: CliIO;
  cwd: string;
  isTTY: boolean;
  now: () => number;
  /** Writes a line to stdout. */
  out(line?: string): void;
  /** Writes a line to stderr. */
  err(line?: string): void;
  /** Absolute path of a path given on the command line. */
  resolvePath(path: string): string;
  /** How to name a path in a message: as given, plus the absolute path when that differs. */
  showPath(path: string): string;
}

/** Fills in the defaults of a {@link CliIO}. */
export function createContext(io: CliIO): CliContext {
  const cwd = io.cwd ?? process.cwd();
  const resolvePath = (path: string) => resolve(cwd, path);
  return {
    io,
    cwd,
    isTTY: io.isTTY ?? io.stderr.isTTY === true,
    now: io.now ?? (() => performance.now()),
    out: (line = '') => void io.stdout.write(`${line}\n`),
    err: (line = '') => void io.stderr.write(`${line}\n`),
    resolvePath,
    showPath: (path: string) => {
      const abs = resolvePath(path);
      return isAbsolute(path) || relative(cwd, abs) === '' ? abs : `${path} (${abs})`;
    },
  };
}
