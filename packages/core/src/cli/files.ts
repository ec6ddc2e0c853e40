/**
 * File access for the command-line tool: every failure becomes a {@link FileError} (exit 3) that
 * names the path and the OS reason; a config that is not JSON becomes an
 * {@link InvalidInputError} (exit 1) with the line and column.
 * @module
 */
import { createReadStream } from 'node:fs';
import { readFile, writeFile, open, type FileHandle } from 'node:fs/promises';
import { safeParseConfig } from '../config/parse.js';
import type { Config } from '../config/schema.js';
import { FileError, InvalidInputError, UsageError } from './errors.js';
import type { CliContext } from './io.js';

/** A config file after reading and validation. */
export interface LoadedConfig {
  config: Config;
  /** The raw JSON document. */
  document: unknown;
  /** The path as given on the command line. */
  path: string;
}

/** Reads a whole text file; a failure is a {@link FileError}. */
export async function readText(ctx: CliContext, path: string, what: string): Promise<string> {
  try {
    return await readFile(ctx.resolvePath(path), 'utf8');
  } catch (error) {
    throw new FileError('read', what, ctx.showPath(path), error);
  }
}

/** Writes a whole text file; a failure is a {@link FileError}. */
export async function writeText(ctx: CliContext, path: string, what: string, text: string): Promise<void> {
  try {
    await writeFile(ctx.resolvePath(path), text, 'utf8');
  } catch (error) {
    throw new FileError('write', what, ctx.showPath(path), error);
  }
}

/**
 * Parses JSON, turning a syntax error into an {@link InvalidInputError} that says where:
 * `leadpipe.json: not valid JSON at line 3, column 7 (…)`.
 */
export function parseJsonFile(text: string, path: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new InvalidInputError([`leadpipe: ${path} is empty: expected a JSON config document`]);
  try {
    return JSON.parse(body);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError([`leadpipe: ${path} is not valid JSON${jsonErrorLocation(body, message)}: ${message}`]);
  }
}

/** ` at line L, column C` for a `JSON.parse` message that names a position, else `''`. */
export function jsonErrorLocation(text: string, message: string): string {
  const match = /at position (\d+)/.exec(message);
  let position: number;
  if (match) position = Number(match[1]);
  else if (/Unexpected end of JSON input/.test(message)) position = text.length;
  else return '';
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

/**
 * Reads and validates a config file. Unreadable → exit 3; not JSON or not a valid config →
 * exit 1 listing every problem as `path: message`.
 */
export async function loadConfig(ctx: CliContext, path: string | undefined): Promise<LoadedConfig> {
  if (path === undefined) throw new UsageError('missing --config: pass the config file, e.g. --config leadpipe.json');
  const document = parseJsonFile(await readText(ctx, path, 'config file'), path);
  const result = safeParseConfig(document, { source: path });
  if (!result.success) {
    const issues = result.error.issues;
    throw new InvalidInputError([
      `leadpipe: ${path} is not a valid leadpipe config (${plural(issues.length, 'problem')}):`,
      ...issues.map((i) => `${i.path || '(root)'}: ${i.message}`),
    ]);
  }
  return { config: result.config, document, path };
}

/**
 * The lines of a file (or of stdin for `-`), streamed, without line terminators; a leading
 * byte-order mark is dropped. A read failure is a {@link FileError}.
 */
export async function* readLines(ctx: CliContext, path: string, what: string): AsyncGenerator<string> {
  let source: AsyncIterable<string | Uint8Array>;
  if (path === '-') {
    if (!ctx.io.stdin) throw new UsageError('no standard input to read events from: pass a file instead of "-"');
    source = ctx.io.stdin;
  } else {
    source = createReadStream(ctx.resolvePath(path));
  }
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let first = true;
  const lines = function* (text: string, final: boolean): Generator<string> {
    pending += text;
    if (first && pending.length > 0) {
      if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
      first = false;
    }
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield pending.slice(start, end);
      start = nl + 1;
    }
    pending = pending.slice(start);
    if (final && pending.length > 0) {
      yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
      pending = '';
    }
  };
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<string | Uint8Array>;
      try {
        step = await iterator.next();
      } catch (error) {
        finished = true;
        throw new FileError('read', what, path === '-' ? 'standard input' : ctx.showPath(path), error);
      }
      if (step.done) break;
      const chunk = step.value;
      yield* lines(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }), false);
    }
    finished = true;
    yield* lines(decoder.decode(), true);
  } finally {
    // Stopped early by the reader: release the file.
    if (!finished) await iterator.return?.();
  }
}

/** An output file written in pieces; every failure is a {@link FileError}. */
export class OutputFile {
  private constructor(
    private readonly handle: FileHandle,
    private readonly shown: string,
    private readonly what: string,
  ) {}

  /** Opens (creates or truncates) `path` for writing. */
  static async open(ctx: CliContext, path: string, what: string): Promise<OutputFile> {
    try {
      return new OutputFile(await open(ctx.resolvePath(path), 'w'), ctx.showPath(path), what);
    } catch (error) {
      throw new FileError('write', what, ctx.showPath(path), error);
    }
  }

  /** Appends text. */
  async write(text: string): Promise<void> {
    try {
      await this.handle.write(text);
    } catch (error) {
      await this.handle.close().catch(() => undefined);
      throw new FileError('write', this.what, this.shown, error);
    }
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    try {
      await this.handle.close();
    } catch (error) {
      throw new FileError('write', this.what, this.shown, error);
    }
  }
}

/** `1 problem`, `3 problems`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}
