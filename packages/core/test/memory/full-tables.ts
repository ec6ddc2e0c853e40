/**
 * Test helpers for the memory store's `STORE_FULL` checks: its tables made to report a size that
 * real ones would take millions of entries to reach.
 */
import { vi, type MockInstance } from 'vitest';
import { StringMap, StringSet } from '../../src/memory/string-table.js';

/**
 * Makes every table of one kind report `size` until the spy is restored: every `Map` (a tenant's
 * leads, aliases and profiles, the outbox), every `StringSet` (a tenant's event ids) or every
 * `StringMap` (its timelines). Tables of the other kinds answer truly.
 */
export function reportSize(tables: 'Map' | 'StringSet' | 'StringMap', size: number): MockInstance<() => number> {
  const proto: { readonly size: number } = tables === 'Map' ? Map.prototype : tables === 'StringSet' ? StringSet.prototype : StringMap.prototype;
  return vi.spyOn(proto, 'size', 'get').mockReturnValue(size);
}

/** Runs `run` and returns what it threw (undefined when nothing), restoring `spy` in any case. */
export async function errorWhile(spy: MockInstance<() => number>, run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    spy.mockRestore();
  }
}
