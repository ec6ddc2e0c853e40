/**
 * Small helpers the example programs share: loading a JSON config the way a host app would,
 * a sink that records what it receives, and plain-text tables for the printed accounts.
 * Nothing here is part of leadpipe's API; copy what you need.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@leadpipe/core';
import type { Config, LeadSnapshot, Sink } from '@leadpipe/core';

/**
 * Reads and validates a JSON config file. A bad file throws one `ConfigError` listing every
 * problem with its JSON path, prefixed with the file name.
 * @example
 * const config = loadConfig(new URL('./config.json', import.meta.url));
 */
export function loadConfig(url: URL): Config {
  const path = fileURLToPath(url);
  return parseConfig(JSON.parse(readFileSync(path, 'utf8')), { source: path });
}

/** What a {@link RecordingSink} received: one delivery. */
export interface ReceivedDelivery {
  ownerId: string;
  idempotencyKey: string;
  lead: LeadSnapshot;
}

/**
 * A {@link Sink} that keeps every delivery in memory, ignoring repeats of an idempotency key (as
 * a real CRM upsert would). Stands in for an operator inbox, a pager or an email gateway.
 * @example
 * const inbox = new RecordingSink('operator-inbox');
 * const engine = createEngine({ config, sinks: { 'operator-inbox': inbox } });
 */
export class RecordingSink implements Sink {
  /** Deliveries in arrival order. */
  readonly received: ReceivedDelivery[] = [];
  readonly #seen = new Set<string>();

  constructor(readonly name: string) {}

  /** Records the delivery unless its idempotency key was seen before. */
  async upsert(lead: LeadSnapshot, context: { ownerId: string; idempotencyKey: string }): Promise<void> {
    if (this.#seen.has(context.idempotencyKey)) return;
    this.#seen.add(context.idempotencyKey);
    this.received.push({ ownerId: context.ownerId, idempotencyKey: context.idempotencyKey, lead });
  }
}

/**
 * Formats rows as a plain-text table with a header rule. Cells that look like numbers are
 * right-aligned.
 * @example
 * console.log(table([['stage', 'leads'], ['routed', '12']]));
 */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const numeric = (c: string) => /^-?[\d.,]+%?$/.test(c);
  const line = (row: string[]) => row.map((c, i) => (numeric(c) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const [head, ...body] = cells;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Formats epoch milliseconds as local wall-clock time in `timeZone`, e.g. `Mon 02 Jun 20:15`.
 */
export function localTime(t: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', hour12: false })
    .format(t)
    .replace(',', '');
}
