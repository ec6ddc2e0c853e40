/**
 * The embedded default {@link Scheduler}: one-off and cron jobs in this process, driven by an
 * injected {@link Clock}.
 * @module
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import type { Clock, Logger, ScheduledJob, Scheduler } from '../contracts.js';
import { ConfigError, LeadpipeError } from '../errors.js';
import { systemClock } from './clock.js';
import { silentLogger } from './logger.js';

/** Options for {@link MemoryScheduler}. */
export interface MemorySchedulerOptions {
  /**
   * The time source. Inject a `ManualClock` in tests and drive the scheduler with {@link MemoryScheduler.tick}.
   * @defaultValue {@link systemClock}
   */
  clock?: Clock;
  /**
   * Whether the scheduler arms its own (unref'd) timer to run jobs when they fall due.
   * Turn it off to run jobs only through {@link MemoryScheduler.tick}.
   * @defaultValue `true` with the system clock, `false` with any other clock
   */
  timers?: boolean;
  /**
   * Receives an `error` when a handler throws.
   * @defaultValue {@link silentLogger}
   */
  logger?: Logger;
}

/** Longest single timer wait: timers are re-armed at least this often, which also absorbs clock jumps. */
const MAX_TIMER_MS = 60_000;

interface Entry<T> {
  job: ScheduledJob<T>;
  runAt: number;
  /** Set for repeating jobs. */
  cron?: { expression: string; timeZone: string };
  /** Identifies this version of the job in the heap; a replaced or cancelled job leaves stale heap nodes. */
  token: number;
}

interface HeapNode {
  runAt: number;
  token: number;
  id: string;
}

/**
 * The in-memory {@link Scheduler}. Jobs live in this process only.
 *
 * **Deterministic tests.** With a `ManualClock`, nothing runs by itself: move the clock, then call
 * {@link MemoryScheduler.tick}, which runs every job due at `clock.now()` and resolves when their
 * handlers have finished. With the system clock the scheduler also arms an unref'd timer for the
 * next due job, so it works unattended in a real process without keeping it alive.
 *
 * Behaviour where the contract leaves room:
 * - `firedAt` (the handler's second argument) is the time the run was *due* (`runAt`, or the cron
 *   occurrence), not the moment the handler started, so it is exact under any clock.
 * - A repeating job that missed several occurrences (the process slept, the clock jumped) runs once,
 *   for the earliest missed occurrence, then continues with the first occurrence after `now`.
 * - Jobs due at the same time start in the order they were scheduled; a tick runs them concurrently.
 * - A handler that throws is logged; the run is not retried. Hand work that must not be lost to a
 *   {@link Queue} or the store's outbox.
 * - `repeat` takes a 5-field cron expression (minute hour day-of-month month day-of-week); the time
 *   zone defaults to UTC. A bad expression or time zone rejects with a `ConfigError`.
 *
 * @example
 * ```ts
 * const clock = new ManualClock('2025-03-28T12:00:00Z');
 * const scheduler = new MemoryScheduler<{ leadId: string }>({ clock });
 * scheduler.start(async (job, firedAt) => { … });
 * await scheduler.repeat({ id: 'daily-summary', payload: { leadId: '*' } }, '0 9 * * *', { timeZone: 'Europe/Paris' });
 * clock.set('2025-03-29T08:00:00Z');
 * await scheduler.tick(); // 1: ran at 09:00 Paris time
 * ```
 */
export class MemoryScheduler<T> implements Scheduler<T> {
  readonly #clock: Clock;
  readonly #timers: boolean;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #heap: HeapNode[] = [];
  readonly #running = new Set<Promise<void>>();
  #handler: ((job: ScheduledJob<T>, firedAt: number) => Promise<void>) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #nextToken = 1;
  #closed = false;

  /** @param options - See {@link MemorySchedulerOptions}. */
  constructor(options: MemorySchedulerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? this.#clock === systemClock;
    this.#logger = options.logger ?? silentLogger;
  }

  /** {@inheritDoc Scheduler.schedule} */
  async schedule(job: ScheduledJob<T>, runAt: number): Promise<void> {
    this.#assertOpen();
    if (!Number.isFinite(runAt)) throw new RangeError(`[leadpipe] [memory-scheduler] runAt must be epoch milliseconds, got ${String(runAt)}`);
    this.#put({ job, runAt, token: this.#nextToken++ });
  }

  /** {@inheritDoc Scheduler.repeat} */
  async repeat(job: ScheduledJob<T>, cron: string, options: { timeZone?: string } = {}): Promise<void> {
    this.#assertOpen();
    const timeZone = options.timeZone ?? 'UTC';
    const runAt = nextOccurrence(cron, timeZone, this.#clock.now());
    this.#put({ job, runAt, cron: { expression: cron, timeZone }, token: this.#nextToken++ });
  }

  /** {@inheritDoc Scheduler.cancel} */
  async cancel(id: string): Promise<boolean> {
    this.#assertOpen();
    return this.#entries.delete(id);
  }

  /**
   * {@inheritDoc Scheduler.start}
   * @throws Error when called a second time.
   */
  start(handler: (job: ScheduledJob<T>, firedAt: number) => Promise<void>): void {
    if (this.#handler) throw new Error('[leadpipe] [memory-scheduler] start() was already called: create one MemoryScheduler per handler.');
    this.#handler = handler;
    this.#arm();
  }

  /**
   * Run every job due at `clock.now()` and wait for their handlers. Exists for deterministic tests
   * with a `ManualClock`; with the system clock the scheduler's own timer calls it.
   * Before {@link MemoryScheduler.start} and after {@link MemoryScheduler.close} it runs nothing.
   * @returns How many runs were started (and have now finished).
   */
  async tick(): Promise<number> {
    const handler = this.#handler;
    if (!handler || this.#closed) return 0;
    const now = this.#clock.now();
    const due: Array<{ job: ScheduledJob<T>; firedAt: number }> = [];
    while (this.#heap.length > 0 && (this.#heap[0] as HeapNode).runAt <= now) {
      const node = heapPop(this.#heap);
      const entry = this.#entries.get(node.id);
      if (!entry || entry.token !== node.token) continue; // replaced or cancelled
      due.push({ job: entry.job, firedAt: entry.runAt });
      if (entry.cron) {
        entry.runAt = nextOccurrence(entry.cron.expression, entry.cron.timeZone, now);
        heapPush(this.#heap, { runAt: entry.runAt, token: entry.token, id: node.id });
      } else {
        this.#entries.delete(node.id);
      }
    }
    this.#arm();
    if (due.length === 0) return 0;
    const runs = due.map(({ job, firedAt }) => this.#track(this.#invoke(handler, job, firedAt)));
    await Promise.all(runs);
    return due.length;
  }

  /** Stop running jobs, wait for running handlers, forget every job. Later calls reject with `STORE_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
    this.#heap.length = 0;
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #assertOpen(): void {
    if (this.#closed) throw new LeadpipeError('STORE_CLOSED', '[leadpipe] [memory-scheduler] The scheduler is closed: create a new MemoryScheduler.');
  }

  #put(entry: Entry<T>): void {
    this.#entries.set(entry.job.id, entry);
    heapPush(this.#heap, { runAt: entry.runAt, token: entry.token, id: entry.job.id });
    if (entry.runAt < this.#timerAt) this.#arm();
  }

  async #invoke(handler: (job: ScheduledJob<T>, firedAt: number) => Promise<void>, job: ScheduledJob<T>, firedAt: number): Promise<void> {
    try {
      await handler(job, firedAt);
    } catch (error) {
      this.#logger.error('scheduled job failed', { jobId: job.id, firedAt, error });
    }
  }

  #track(run: Promise<void>): Promise<void> {
    this.#running.add(run);
    return run.finally(() => this.#running.delete(run));
  }

  /** (Re)arm the timer for the earliest job, when timers are on and a handler is set. */
  #arm(): void {
    if (!this.#timers || !this.#handler || this.#closed) return;
    // Drop stale nodes so the timer is not armed for a cancelled job.
    while (this.#heap.length > 0) {
      const top = this.#heap[0] as HeapNode;
      if (this.#entries.get(top.id)?.token === top.token) break;
      heapPop(this.#heap);
    }
    const next = this.#heap[0]?.runAt ?? Number.POSITIVE_INFINITY;
    if (next === this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    const wait = Math.min(Math.max(0, next - this.#clock.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      void this.tick().then(undefined, (error: unknown) => this.#logger.error('scheduler tick failed', { error }));
      this.#arm();
    }, wait);
    this.#timer.unref?.();
  }
}

/** The first occurrence of a 5-field cron expression strictly after `after`, in `timeZone`. */
function nextOccurrence(expression: string, timeZone: string, after: number): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new ConfigError([
      { path: 'cron', message: 'Use a 5-field cron expression: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5".', value: expression },
    ]);
  }
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(expression, { currentDate: after, tz: timeZone });
    return parsed.next().getTime();
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const bad = isTimeZone(timeZone)
      ? { path: 'cron', message: `Not a valid cron expression (${message}).`, value: expression }
      : { path: 'timeZone', message: 'Not an IANA time zone: use a name such as "Europe/Paris" or "UTC".', value: timeZone };
    throw new ConfigError([bad]);
  }
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

// A binary min-heap ordered by (runAt, token): jobs due together pop in the order they were scheduled.
function less(a: HeapNode, b: HeapNode): boolean {
  return a.runAt < b.runAt || (a.runAt === b.runAt && a.token < b.token);
}

function heapPush(heap: HeapNode[], node: HeapNode): void {
  heap.push(node);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(node, heap[parent] as HeapNode)) break;
    heap[i] = heap[parent] as HeapNode;
    i = parent;
  }
  heap[i] = node;
}

function heapPop(heap: HeapNode[]): HeapNode {
  const top = heap[0] as HeapNode;
  const last = heap.pop() as HeapNode;
  if (heap.length > 0) {
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && less(heap[r] as HeapNode, heap[l] as HeapNode) ? r : l;
      if (!less(heap[child] as HeapNode, last)) break;
      heap[i] = heap[child] as HeapNode;
      i = child;
    }
    heap[i] = last;
  }
  return top;
}
