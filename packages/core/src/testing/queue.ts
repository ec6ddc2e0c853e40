/**
 * The {@link Queue} conformance suite.
 * @module
 */
import { expect } from 'vitest';
import type { Queue, QueueJob } from '../contracts.js';
import { defineSuite, rejectionOf, sleep, uniqueNamespace, type ConformanceOptions } from './suite.js';

/** What a queue factory returns. */
export interface QueueFixture {
  /** A queue with nothing in it, on which `process` has not been called. */
  queue: Queue<unknown>;
  /** Called after each test, after the suite has closed the queue. */
  cleanup?: () => Promise<void>;
}

/** Context of one queue test. */
interface QueueCtx {
  queue: Queue<unknown>;
}

/** A payload shape the suite enqueues. */
interface Payload {
  n: number;
}

/**
 * Register the {@link Queue} conformance suite with vitest. Tests use real time (short backoffs,
 * handlers that wait tens of milliseconds).
 *
 * `factory` is called once per test with a unique `namespace` (use it as the queue name or key
 * prefix so tests can share one backend). The suite closes the queue after each test, then calls
 * `cleanup`.
 *
 * @param name - Shown in the suite title.
 * @param factory - Builds an empty queue for one test.
 * @param options - {@link ConformanceOptions}: tests to skip, each with a reason.
 * @example
 * ```ts
 * queueConformance('bullmq', async ({ namespace }) => {
 *   const queue = createBullQueue({ name: namespace, connection });
 *   return { queue, cleanup: () => queue.obliterate() };
 * });
 * ```
 */
export function queueConformance(
  name: string,
  factory: (ctx: { namespace: string }) => Promise<QueueFixture>,
  options: ConformanceOptions = {},
): void {
  const setup = async (testName: string): Promise<{ ctx: QueueCtx; teardown: () => Promise<void> }> => {
    const { queue, cleanup } = await factory({ namespace: uniqueNamespace(testName) });
    return {
      ctx: { queue },
      teardown: async () => {
        await queue.close().catch(() => undefined); // a test may have closed it already
        await cleanup?.();
      },
    };
  };

  defineSuite<QueueCtx>(`Queue conformance: ${name}`, options, setup, (test) => {
    test('runs every enqueued job', async ({ queue }) => {
      const seen = new Map<string, number>();
      queue.process(
        async (job) => {
          seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
          expect(job.payload).toEqual({ n: Number(job.id.slice(4)) });
        },
        { concurrency: 4 },
      );
      await queue.enqueue(job(0));
      await queue.enqueueMany(Array.from({ length: 19 }, (_, i) => job(i + 1)));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect([...seen.keys()].sort()).toEqual(Array.from({ length: 20 }, (_, i) => job(i).id).sort());
      expect([...seen.values()].every((count) => count === 1), 'each job should run once when its handler succeeds').toBe(true);
    });

    test('a job whose handler throws is run again (at-least-once)', async ({ queue }) => {
      const calls = new Map<string, number>();
      const done: string[] = [];
      queue.process(
        async (j) => {
          const n = (calls.get(j.id) ?? 0) + 1;
          calls.set(j.id, n);
          if (j.id === 'job-1' && n < 3) throw new Error(`transient failure ${n}`);
          done.push(j.id);
        },
        { maxAttempts: 5, backoffMs: () => 10 },
      );
      await queue.enqueueMany([job(1), job(2)]);
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(calls.get('job-1')).toBe(3);
      expect(calls.get('job-2')).toBe(1);
      expect(done.sort()).toEqual(['job-1', 'job-2']);
    });

    test('a job is given up after maxAttempts and the queue goes on', async ({ queue }) => {
      const calls = new Map<string, number>();
      queue.process(
        async (j) => {
          calls.set(j.id, (calls.get(j.id) ?? 0) + 1);
          if (j.id === 'job-1') throw new Error('permanent failure');
        },
        { maxAttempts: 3, backoffMs: () => 5 },
      );
      await queue.enqueue(job(1));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(calls.get('job-1')).toBe(3);
      await queue.enqueue(job(2));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(calls.get('job-2')).toBe(1);
      expect(calls.get('job-1')).toBe(3);
    });

    test('retries wait for backoffMs(attempt)', async ({ queue }) => {
      const times: number[] = [];
      const asked: number[] = [];
      queue.process(
        async () => {
          times.push(performance.now());
          if (times.length < 3) throw new Error('again');
        },
        {
          maxAttempts: 3,
          backoffMs: (attempt) => {
            asked.push(attempt);
            return attempt * 150;
          },
        },
      );
      await queue.enqueue(job(1));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(times).toHaveLength(3);
      expect(asked).toEqual([1, 2]);
      // Timers may fire a millisecond early; allow a little slack below, none needed above.
      expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(140);
      expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(290);
    });

    test('the concurrency limit is respected and used', async ({ queue }) => {
      let running = 0;
      let peak = 0;
      queue.process(
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(40);
          running -= 1;
        },
        { concurrency: 3 },
      );
      await queue.enqueueMany(Array.from({ length: 12 }, (_, i) => job(i)));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(peak).toBe(3);
    });

    test('concurrency defaults to 1', async ({ queue }) => {
      let running = 0;
      let peak = 0;
      let count = 0;
      queue.process(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(15);
        running -= 1;
        count += 1;
      });
      await queue.enqueueMany(Array.from({ length: 5 }, (_, i) => job(i)));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(count).toBe(5);
      expect(peak).toBe(1);
    });

    test('a pending job id enqueued twice runs once', async ({ queue }) => {
      await queue.enqueue({ id: 'dup', payload: { n: 1 } });
      await queue.enqueue({ id: 'dup', payload: { n: 2 } });
      await queue.enqueueMany([
        { id: 'dup', payload: { n: 3 } },
        { id: 'other', payload: { n: 4 } },
      ]);
      const seen: Array<QueueJob<unknown>> = [];
      queue.process(async (j) => {
        seen.push(j);
      });
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(seen.filter((j) => j.id === 'dup')).toEqual([{ id: 'dup', payload: { n: 1 } }]);
      expect(seen.filter((j) => j.id === 'other')).toHaveLength(1);
    });

    test('jobs enqueued before process run once it starts', async ({ queue }) => {
      await queue.enqueueMany([job(1), job(2)]);
      await sleep(20);
      const seen: string[] = [];
      queue.process(async (j) => {
        seen.push(j.id);
      });
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(seen.sort()).toEqual(['job-1', 'job-2']);
    });

    test('drain waits for running jobs and their retries', async ({ queue }) => {
      let finished = false;
      let attempts = 0;
      queue.process(
        async () => {
          attempts += 1;
          await sleep(30);
          if (attempts === 1) throw new Error('first attempt fails');
          finished = true;
        },
        { backoffMs: () => 50 },
      );
      await queue.enqueue(job(1));
      await withTimeout(queue.drain(), 10_000, 'drain');
      expect(finished).toBe(true);
      expect(attempts).toBe(2);
      // Idle: resolves promptly.
      await withTimeout(queue.drain(), 2_000, 'drain of an idle queue');
    });

    test('close waits for running jobs, then enqueue rejects', async ({ queue }) => {
      let started = false;
      let finished = false;
      queue.process(async () => {
        started = true;
        await sleep(100);
        finished = true;
      });
      await queue.enqueue(job(1));
      await waitFor(() => started, 5_000, 'the job to start');
      await withTimeout(queue.close(), 10_000, 'close');
      expect(finished, 'close resolved before the running job finished').toBe(true);
      await rejectionOf(queue.enqueue(job(2)), 'enqueue after close');
    });
  });
}

function job(n: number): QueueJob<Payload> {
  return { id: `job-${n}`, payload: { n } };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not resolve within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
