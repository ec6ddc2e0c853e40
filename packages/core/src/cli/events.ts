/**
 * Reading an NDJSON events file: every line is parsed and validated before anything is tracked,
 * and problems are reported as `line N: path: message`.
 * @module
 */
import { eventIssues } from '../pipeline/validate-event.js';
import type { EventInput } from '../types.js';
import { InvalidInputError, UsageError } from './errors.js';
import { plural, readLines } from './files.js';
import type { CliContext } from './io.js';

/** At most this many problems are listed; the rest are counted in a `... and K more` line. */
export const MAX_LISTED_PROBLEMS = 50;

/** A valid event and the line of the file it came from (1-based, counting blank lines). */
export interface LineEvent {
  line: number;
  event: EventInput;
}

/** What {@link loadEvents} read. */
export interface LoadedEvents {
  events: LineEvent[];
  /** Problems of the invalid lines, one string per problem (`line N: path: message`). */
  problems: string[];
  /** Lines that held an invalid event. */
  invalidLines: number;
}

/** Parses and validates one NDJSON line; returns the event or the problems. */
export function parseEventLine(text: string, line: number): { event: EventInput } | { problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const column = /at position (\d+)/.exec(message);
    return { problems: [`line ${line}: not valid JSON${column ? ` (column ${Number(column[1]) + 1})` : ''}: ${message}`] };
  }
  const issues = eventIssues(value, '');
  if (issues.length === 0) return { event: value as EventInput };
  return { problems: issues.map((i) => `line ${line}: ${i.path || '(root)'}: ${i.message}`) };
}

/**
 * Reads every line of an NDJSON events file (`-` for stdin), skipping blank lines. With
 * `skipInvalid: false`, any invalid line throws an {@link InvalidInputError} listing the problems
 * (at most {@link MAX_LISTED_PROBLEMS}); with `true`, the invalid lines are reported on stderr
 * and left out.
 */
export async function loadEvents(ctx: CliContext, path: string | undefined, options: { skipInvalid: boolean }): Promise<LoadedEvents> {
  if (path === undefined) throw new UsageError('missing --events: pass the NDJSON events file, e.g. --events events.ndjson (or - for stdin)');
  const events: LineEvent[] = [];
  const problems: string[] = [];
  let invalidLines = 0;
  let line = 0;
  for await (const text of readLines(ctx, path, 'events file')) {
    line++;
    if (text.trim() === '') continue;
    const parsed = parseEventLine(text, line);
    if ('event' in parsed) events.push({ line, event: parsed.event });
    else {
      invalidLines++;
      problems.push(...parsed.problems);
    }
  }
  const name = path === '-' ? 'standard input' : path;
  if (invalidLines > 0 && !options.skipInvalid) {
    throw new InvalidInputError([
      `leadpipe: ${name} has ${plural(invalidLines, 'invalid line')} (${plural(problems.length, 'problem')}); nothing was processed:`,
      ...capList(problems),
      'Fix these lines, or pass --skip-invalid to process the valid ones.',
    ]);
  }
  if (invalidLines > 0) {
    ctx.err(`leadpipe: skipped ${plural(invalidLines, 'invalid line')} of ${name}:`);
    for (const p of capList(problems)) ctx.err(p);
  }
  return { events, problems, invalidLines };
}

/** The first {@link MAX_LISTED_PROBLEMS} items, then `... and K more` when there are more. */
export function capList(items: readonly string[], max = MAX_LISTED_PROBLEMS): string[] {
  if (items.length <= max) return [...items];
  return [...items.slice(0, max), `... and ${(items.length - max).toLocaleString('en-US')} more`];
}
