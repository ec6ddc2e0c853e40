/**
 * The {@link Scheduler} conformance suite, driven by a `ManualClock`.
 * @module
 */
import { expect } from 'vitest';
import type { ScheduledJob, Scheduler } from '../contracts.js';
import { ManualClock } from '../memory/clock.js';
import { defineSuite, rejectionOf, uniqueNamespace, type ConformanceOptions } from './suite.js';

/** What a scheduler factory gets: the test's clock and a unique namespace (queue name, key prefix). */
export interface SchedulerFixtureContext {
  /** The time source the scheduler must follow. Starts at 2025-03-28T12:00:00Z. */
  clock: ManualClock;
  namespace: string;
}

/** What a scheduler factory returns. */
export interface SchedulerFixture {
  /** A scheduler with no jobs, on which `start` has not been called. */
  scheduler: Scheduler<unknown>;
  /**
   * Move time forward by `ms` (at least advancing `clock`), and resolve once every job due at the
   * new time has run and its handler has finished. `advance(0)` runs what is already due.
   * For the memory scheduler: `clock.advance(ms); await scheduler.tick()`.
   */
  advance(ms: number): Promise<void>;
  /** Called after each test, after the suite has closed the scheduler. */
  cleanup?: () => Promise<void>;
}

/** Context of one scheduler test. */
interface SchedulerCtx extends SchedulerFixture {
  clock: ManualClock;
  /** Runs recorded by the handler the test started (see `begin`). */
  runs: Array<{ id: string; payload: unknown; firedAt: number }>;
  /** Start the scheduler with a handler that records runs. */
  begin(): void;
}

const START = '2025-03-28T12:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Register the {@link Scheduler} conformance suite with vitest.
 *
 * `factory` is called once per test with a fresh `ManualClock` and a unique namespace. It returns
 * the scheduler and an `advance(ms)` function that moves time and waits for due jobs: the memory
 * scheduler ticks; a backend on real time (Redis, BullMQ) can map the manual clock onto its own
 * time source, or skip the tests that need days to pass, naming the reason.
 *
 * @param name - Shown in the suite title.
 * @param factory - Builds an empty, not yet started scheduler for one test.
 * @param options - {@link ConformanceOptions}: tests to skip, each with a reason.
 * @example
 * ```ts
 * schedulerConformance('memory', async ({ clock }) => {
 *   const scheduler = new MemoryScheduler({ clock });
 *   return { scheduler, advance: async (ms) => { clock.advance(ms); await scheduler.tick(); } };
 * });
 * ```
 */
export function schedulerConformance(
  name: string,
  factory: (ctx: SchedulerFixtureContext) => Promise<SchedulerFixture>,
  options: ConformanceOptions = {},
): void {
  const setup = async (testName: string): Promise<{ ctx: SchedulerCtx; teardown: () => Promise<void> }> => {
    const clock = new ManualClock(START);
    const fixture = await factory({ clock, namespace: uniqueNamespace(testName) });
    const runs: SchedulerCtx['runs'] = [];
    const ctx: SchedulerCtx = {
      ...fixture,
      clock,
      runs,
      begin: () =>
        fixture.scheduler.start(async (job: ScheduledJob<unknown>, firedAt: number) => {
          runs.push({ id: job.id, payload: job.payload, firedAt });
        }),
    };
    return {
      ctx,
      teardown: async () => {
        await fixture.scheduler.close().catch(() => undefined); // a test may have closed it already
        await fixture.cleanup?.();
      },
    };
  };

  defineSuite<SchedulerCtx>(`Scheduler conformance: ${name}`, options, setup, (test) => {
    test('a job runs at its time, not before, and once', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      const runAt = clock.now() + 10 * MINUTE;
      await scheduler.schedule({ id: 'j-1', payload: { lead: 'l-1' } }, runAt);
      await advance(10 * MINUTE - 1);
      expect(runs, 'the job ran before its time').toEqual([]);
      await advance(1);
      expect(runs).toEqual([{ id: 'j-1', payload: { lead: 'l-1' }, firedAt: runAt }]);
      await advance(HOUR);
      expect(runs).toHaveLength(1);
    });

    test('a job scheduled in the past runs as soon as possible', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      await scheduler.schedule({ id: 'late', payload: 1 }, clock.now() - 5 * MINUTE);
      await advance(0);
      expect(runs.map((r) => r.id)).toEqual(['late']);
    });

    test('jobs due at once all run', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      const t = clock.now() + MINUTE;
      await scheduler.schedule({ id: 'a', payload: 1 }, t);
      await scheduler.schedule({ id: 'b', payload: 2 }, t);
      await scheduler.schedule({ id: 'c', payload: 3 }, t - 1000);
      await advance(2 * MINUTE);
      expect(runs.map((r) => r.id).sort()).toEqual(['a', 'b', 'c']);
      expect(runs.find((r) => r.id === 'c')?.firedAt).toBe(t - 1000);
    });

    test('scheduling the same id again replaces the job', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      const t0 = clock.now();
      await scheduler.schedule({ id: 'x', payload: 'first' }, t0 + MINUTE);
      await scheduler.schedule({ id: 'x', payload: 'second' }, t0 + 5 * MINUTE);
      await advance(2 * MINUTE);
      expect(runs, 'the replaced job still ran at its old time').toEqual([]);
      await advance(3 * MINUTE);
      expect(runs).toEqual([{ id: 'x', payload: 'second', firedAt: t0 + 5 * MINUTE }]);

      // Moving a job earlier works too, and it runs only once.
      await scheduler.schedule({ id: 'y', payload: 'late' }, t0 + 60 * MINUTE);
      await scheduler.schedule({ id: 'y', payload: 'early' }, t0 + 10 * MINUTE);
      await advance(5 * MINUTE);
      await advance(HOUR);
      expect(runs.filter((r) => r.id === 'y')).toEqual([{ id: 'y', payload: 'early', firedAt: t0 + 10 * MINUTE }]);
    });

    test('cancel removes a job and says whether there was one', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      await scheduler.schedule({ id: 'c-1', payload: null }, clock.now() + MINUTE);
      await scheduler.schedule({ id: 'c-2', payload: null }, clock.now() + MINUTE);
      expect(await scheduler.cancel('c-1')).toBe(true);
      expect(await scheduler.cancel('c-1')).toBe(false);
      expect(await scheduler.cancel('never-scheduled')).toBe(false);
      await advance(2 * MINUTE);
      expect(runs.map((r) => r.id)).toEqual(['c-2']);
      expect(await scheduler.cancel('c-2'), 'a one-off job that ran is gone').toBe(false);
    });

    test('jobs scheduled before start run once it is called', async ({ scheduler, advance, clock, runs, begin }) => {
      const runAt = clock.now() + MINUTE;
      await scheduler.schedule({ id: 'early-bird', payload: 1 }, runAt);
      await advance(2 * MINUTE);
      expect(runs).toEqual([]);
      begin();
      await advance(0);
      expect(runs).toEqual([{ id: 'early-bird', payload: 1, firedAt: runAt }]);
    });

    test('repeat follows the time zone across a DST change', async ({ scheduler, advance, runs, begin }) => {
      begin();
      // Paris moves from UTC+1 to UTC+2 on 2025-03-30: 09:00 local is 08:00Z, then 07:00Z.
      await scheduler.repeat({ id: 'daily', payload: { report: 'summary' } }, '0 9 * * *', { timeZone: 'Europe/Paris' });
      for (let h = 0; h < 4 * 24; h++) await advance(HOUR);
      expect(runs.map((r) => new Date(r.firedAt).toISOString())).toEqual([
        '2025-03-29T08:00:00.000Z',
        '2025-03-30T07:00:00.000Z',
        '2025-03-31T07:00:00.000Z',
        '2025-04-01T07:00:00.000Z',
      ]);
      expect(runs.every((r) => r.id === 'daily')).toBe(true);
      expect(runs[0]?.payload).toEqual({ report: 'summary' });
    });

    test('repeat uses UTC when no time zone is given', async ({ scheduler, advance, runs, begin }) => {
      begin();
      await scheduler.repeat({ id: 'utc', payload: 1 }, '30 9 * * 1-5');
      // From Friday 2025-03-28 12:00Z to Tuesday 2025-04-01 12:00Z: Monday and Tuesday, not the weekend.
      for (let h = 0; h < 4 * 24; h++) await advance(HOUR);
      expect(runs.map((r) => new Date(r.firedAt).toISOString())).toEqual(['2025-03-31T09:30:00.000Z', '2025-04-01T09:30:00.000Z']);
    });

    test('cancel stops a repeating job', async ({ scheduler, advance, runs, begin }) => {
      begin();
      await scheduler.repeat({ id: 'hourly', payload: 1 }, '0 * * * *', { timeZone: 'UTC' });
      await advance(HOUR);
      await advance(HOUR);
      expect(runs).toHaveLength(2);
      expect(await scheduler.cancel('hourly')).toBe(true);
      for (let h = 0; h < 3; h++) await advance(HOUR);
      expect(runs).toHaveLength(2);
      expect(await scheduler.cancel('hourly')).toBe(false);
    });

    test('repeat with an id replaces a one-off job of that id', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      await scheduler.schedule({ id: 'r', payload: 'once' }, clock.now() + 30 * MINUTE);
      await scheduler.repeat({ id: 'r', payload: 'hourly' }, '0 * * * *');
      await advance(45 * MINUTE);
      expect(runs).toEqual([]);
      await advance(15 * MINUTE);
      expect(runs).toEqual([{ id: 'r', payload: 'hourly', firedAt: Date.parse('2025-03-28T13:00:00Z') }]);
    });

    test('repeat rejects a malformed cron expression or time zone', async ({ scheduler }) => {
      await rejectionOf(scheduler.repeat({ id: 'bad', payload: 1 }, 'every day at nine'), 'repeat with a malformed cron expression');
      await rejectionOf(scheduler.repeat({ id: 'bad', payload: 1 }, '61 9 * * *'), 'repeat with minute 61');
      await rejectionOf(scheduler.repeat({ id: 'bad', payload: 1 }, '0 9 * * *', { timeZone: 'Mars/Olympus_Mons' }), 'repeat with an unknown time zone');
    });

    test('after close, due jobs do not run and schedule rejects', async ({ scheduler, advance, clock, runs, begin }) => {
      begin();
      await scheduler.schedule({ id: 'z', payload: 1 }, clock.now() + MINUTE);
      await scheduler.close();
      await advance(2 * MINUTE).catch(() => undefined);
      expect(runs).toEqual([]);
      await rejectionOf(scheduler.schedule({ id: 'z2', payload: 1 }, clock.now()), 'schedule after close');
    });
  });
}
