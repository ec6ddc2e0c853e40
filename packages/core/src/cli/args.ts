/**
 * Command-line parsing on `node:util`'s `parseArgs` in strict mode: an unknown flag, a flag
 * without its value or a stray argument is a {@link UsageError} (exit 2) that says what to do.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed flags and positionals of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `args` for `command` against `options`. Every command also accepts `--help` / `-h`.
 * @throws UsageError naming the bad flag and pointing at `leadpipe <command> --help`.
 */
export function parseCommandArgs(command: string, args: string[], options: Options, allowPositionals = false): ParsedArgs {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  const hint = `Run "leadpipe ${command} --help" for usage.`;
  try {
    const { values, positionals } = parseArgs({ args, options: all, strict: true, allowPositionals });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      const known = Object.keys(all).map((k) => `--${k}`);
      const guess = closest(flag.replace(/=.*$/, ''), known);
      return fail(`unknown option ${flag} for "leadpipe ${command}"${guess ? `: did you mean ${guess}?` : ''}`, `${hint} Options: ${known.join(', ')}.`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = /'(--?[\w-]+)/.exec(message)?.[1];
      const spec = flag ? all[flag.replace(/^-+/, '')] : undefined;
      if (flag && spec?.type === 'string') return fail(`${flag} needs a value, e.g. ${flag} ${EXAMPLES[flag.replace(/^-+/, '')] ?? 'VALUE'}`, hint);
      if (flag && spec?.type === 'boolean') return fail(`${flag} is a switch and takes no value`, hint);
      return fail(message, hint);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
      return fail(`unexpected argument "${arg}": "leadpipe ${command}" takes flags only`, hint);
    }
    throw error;
  }
}

function fail(message: string, hint: string): never {
  throw new UsageError(message, hint);
}

/** Example values used in "needs a value" messages. */
const EXAMPLES: Record<string, string> = {
  config: 'leadpipe.json',
  events: 'events.ndjson',
  out: 'leads.ndjson',
  lead: '"u1|tour-1"',
  subject: 'u1',
  anonymous: 'device-42',
  target: 'tour-1',
  tenant: 'acme',
  at: '2026-03-01T12:00:00Z',
};

/** The candidate within edit distance 2 of `word`, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d <= 2 && (!best || d < best.distance)) best = { name: c, distance: d };
  }
  return best?.name;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** A string flag's value, or undefined. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A boolean flag's value. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Usage messages for flags a command cannot run without. */
const REQUIRED: Record<string, string> = {
  config: 'missing --config: pass the config file, e.g. --config leadpipe.json',
  events: 'missing --events: pass the NDJSON events file, e.g. --events events.ndjson (or --events - for standard input)',
};

/**
 * Checks that the given string flags are present (before any file is read, so a usage mistake
 * is reported as one).
 * @throws UsageError for the first missing flag
 */
export function requireFlags(command: string, args: ParsedArgs, names: readonly string[]): void {
  for (const name of names) {
    if (str(args, name) === undefined) throw new UsageError(REQUIRED[name] ?? `missing --${name}`, `Run "leadpipe ${command} --help" for usage.`);
  }
}
