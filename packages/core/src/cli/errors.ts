/**
 * Errors the command-line tool turns into exit codes. Each carries the code it exits with and
 * the lines it prints on stderr.
 * @module
 */

/** Exit codes of the `leadpipe` command. Documented in `docs/cli.md` and `leadpipe --help`. */
export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /** The config or the events are invalid; every problem was listed. */
  invalid: 1,
  /** The command line is wrong: unknown command or flag, missing or malformed flag value. */
  usage: 2,
  /** A file could not be read or written; the path and the OS reason were printed. */
  file: 3,
  /** Anything else: a bug. The stack trace was printed. */
  internal: 4,
} as const;

/** One of the {@link EXIT} codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: printed as `lines` on stderr, then the process exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly lines: readonly string[];
  constructor(exitCode: ExitCode, lines: readonly string[]) {
    super(lines.join('\n'));
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.lines = lines;
  }
}

/** The command line is wrong (exit 2). `hint` says how to get it right. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(EXIT.usage, hint ? [`leadpipe: ${message}`, hint] : [`leadpipe: ${message}`]);
    this.name = 'UsageError';
  }
}

/** A file could not be read or written (exit 3). */
export class FileError extends CliError {
  readonly path: string;
  constructor(action: 'read' | 'write', what: string, path: string, cause: unknown) {
    super(EXIT.file, [`leadpipe: cannot ${action} ${what} ${path}: ${osReason(cause)}`]);
    this.name = 'FileError';
    this.path = path;
  }
}

/** The config or the events are invalid (exit 1). `lines` lists every problem. */
export class InvalidInputError extends CliError {
  constructor(lines: readonly string[]) {
    super(EXIT.invalid, lines);
    this.name = 'InvalidInputError';
  }
}

/**
 * The operating system's reason for a failed file operation, e.g. `no such file or directory
 * (ENOENT)`, without Node's repetition of the syscall and path.
 */
export function osReason(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (typeof code === 'string') {
    // Node formats these as "ENOENT: no such file or directory, open '/x'".
    const prefix = `${code}: `;
    const reason = text.startsWith(prefix) ? text.slice(prefix.length).replace(/, \w+ '.*'$/s, '').replace(/, \w+$/, '') : text;
    return `${reason} (${code})`;
  }
  return text;
}
