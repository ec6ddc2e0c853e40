import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, runDemo, type DemoSummary } from '../src/tour-marketplace/demo.js';

describe('tour marketplace demo (20,000 events)', () => {
  let summary: DemoSummary;
  beforeAll(async () => {
    summary = await runDemo({ events: 20_000, seed: 7, quiet: true });
  });

  it('passes its invariant checks', () => {
    const required = summary.checks.filter((c) => c.required);
    expect(required.map((c) => c.name)).toHaveLength(3);
    for (const check of required) {
      expect(check.failures, check.name).toEqual([]);
      expect(check.checked, check.name).toBeGreaterThan(0);
    }
    expect(summary.ok).toBe(true);
  });

  it('tracks every generated event once and ignores the resent ones', () => {
    expect(summary.results.processed).toBe(20_000);
    expect(summary.results.duplicate).toBe(summary.stream.duplicatesSent);
    expect(summary.stream.duplicatesSent).toBeGreaterThan(0);
    expect(summary.stream.events).toBe(20_000 + summary.stream.duplicatesSent);
    expect(summary.results.rejected).toBe(0);
  });

  it('generates a realistic mix with late events and anonymous sessions', () => {
    const { tour_view = 0, tour_bookmark = 0, itinerary_add = 0, inquiry = 0 } = summary.stream.byType;
    expect(tour_view).toBeGreaterThan(5 * tour_bookmark);
    expect(tour_bookmark).toBeGreaterThan(itinerary_add);
    expect(itinerary_add).toBeGreaterThan(inquiry);
    expect(summary.stream.lateSent).toBeGreaterThan(0);
    expect(summary.results.replayed).toBeGreaterThan(0);
    expect(summary.stream.identifyCalls).toBeGreaterThan(0);
  });

  it('produces sane leads, stages, tiers and routes', () => {
    const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    expect(summary.leads).toBeGreaterThan(1000);
    expect(total(summary.byStage)).toBe(summary.leads);
    expect(total(summary.byTier)).toBe(summary.leads);
    expect(summary.byStage.routed).toBe(summary.routedLeads);
    expect(summary.routedLeads).toBeGreaterThan(0);
    expect(summary.routedLeads).toBeLessThan(summary.leads / 2);
    expect(summary.fanOutLeads).toBeGreaterThan(0);
    expect(Object.keys(summary.routesByOwner).length).toBeGreaterThanOrEqual(10);
    expect(summary.deliveries).toBeGreaterThanOrEqual(total(summary.routesByOwner));
    expect(summary.eventsPerSecond).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', async () => {
    const a = await runDemo({ events: 3000, seed: 11, quiet: true });
    const b = await runDemo({ events: 3000, seed: 11, quiet: true });
    const strip = (s: DemoSummary) => ({ ...s, elapsedMs: 0, eventsPerSecond: 0 });
    expect(strip(a)).toEqual(strip(b));
  });
});

describe('mulberry32', () => {
  it('repeats for a seed and stays in [0, 1)', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
