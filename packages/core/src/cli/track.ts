/**
 * Running loaded events through an in-memory engine, with a progress bar on a terminal.
 * @module
 */
import type { Config } from '../config/schema.js';
import { createEngine, markParsed, type Engine, type TrackResult } from '../engine.js';
import { isLeadpipeError, type Issue } from '../errors.js';
import { MemoryStore } from '../memory/store.js';
import { DEFAULT_TENANT, type LeadState } from '../types.js';
import { InvalidInputError } from './errors.js';
import type { LineEvent } from './events.js';
import type { CliContext } from './io.js';
import { ProgressBar } from './progress.js';

/** Events are tracked in batches of this size (`trackMany`). */
export const CHUNK_SIZE = 1000;
/** A progress bar is drawn only for more events than this, and only on a terminal. */
export const PROGRESS_THRESHOLD = 10_000;

/** Counts of what tracking did. */
export interface TrackTotals {
  events: number;
  processed: number;
  duplicates: number;
  stored: number;
  rejected: number;
}

/** Builds an engine on a fresh memory store. A rule that fails to compile is an invalid config (exit 1). */
export function createCliEngine(config: Config, path: string): Engine {
  try {
    return createEngine({ config: markParsed(config), store: new MemoryStore() });
  } catch (error) {
    if (isLeadpipeError(error, 'RULE_INVALID') || isLeadpipeError(error, 'CONFIG_INVALID')) {
      const issues = (error as unknown as { issues?: Issue[] }).issues ?? [];
      throw new InvalidInputError([`leadpipe: ${path} is not a valid leadpipe config:`, ...issues.map((i) => `${i.path || '(root)'}: ${i.message}`)]);
    }
    throw error;
  }
}

/**
 * Tracks events in order, in chunks of {@link CHUNK_SIZE}, calling `onResult` for each result.
 * Draws a progress bar on stderr when it is a terminal and there are more than
 * {@link PROGRESS_THRESHOLD} events.
 */
export async function trackAll(
  ctx: CliContext,
  engine: Engine,
  events: readonly LineEvent[],
  onResult?: (result: TrackResult, event: LineEvent) => void,
): Promise<TrackTotals> {
  const totals: TrackTotals = { events: events.length, processed: 0, duplicates: 0, stored: 0, rejected: 0 };
  const bar = ctx.isTTY && events.length > PROGRESS_THRESHOLD ? new ProgressBar(ctx.io.stderr, events.length, ctx.now) : undefined;
  try {
    for (let start = 0; start < events.length; start += CHUNK_SIZE) {
      const chunk = events.slice(start, start + CHUNK_SIZE);
      const results = await engine.trackMany(chunk.map((e) => e.event));
      results.forEach((r, i) => {
        if (r.status === 'processed') totals.processed++;
        else if (r.status === 'duplicate') totals.duplicates++;
        else if (r.status === 'stored') totals.stored++;
        else totals.rejected++;
        onResult?.(r, chunk[i] as LineEvent);
      });
      bar?.update(start + chunk.length);
    }
  } finally {
    bar?.finish();
  }
  return totals;
}

/** The tenants a set of events writes to, sorted. */
export function tenantsOf(events: readonly LineEvent[]): string[] {
  return [...new Set(events.map((e) => e.event.tenantId ?? DEFAULT_TENANT))].sort();
}

/** Every lead of the given tenants, tenant by tenant, in lead-id order, a page at a time. */
export async function* allLeads(engine: Engine, tenants: readonly string[]): AsyncGenerator<LeadState> {
  for (const tenantId of tenants) {
    let cursor: string | undefined;
    do {
      const page = await engine.store.listLeads(tenantId, { limit: 500, ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.leads;
      cursor = page.next;
    } while (cursor !== undefined);
  }
}
