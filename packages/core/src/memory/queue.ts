/**
 * The embedded default {@link Queue}: jobs in this process, run with a concurrency limit and
 * retried with backoff.
 * @module
 */
import type { Logger, ProcessOptions, Queue, QueueJob } from '../contracts.js';
import { LeadpipeError } from '../errors.js';
import { silentLogger } from './logger.js';

/** Options for {@link MemoryQueue}. */
export interface MemoryQueueOptions {
  /**
   * Receives a `warn` for each failed attempt and an `error` when a job is given up.
   * @defaultValue {@link silentLogger}
   */
  logger?: Logger;
}

const DEFAULT_CONCURRENCY = 1;
const DEFAULT_MAX_ATTEMPTS = 5;
const MAX_DEFAULT_BACKOFF_MS = 30_000;

/** The default backoff: 100 ms, 200 ms, 400 ms… capped at 30 s. */
function defaultBackoff(attempt: number): number {
  return Math.min(100 * 2 ** (attempt - 1), MAX_DEFAULT_BACKOFF_MS);
}

interface Pending<T> {
  job: QueueJob<T>;
  /** Attempts already made. */
  attempts: number;
}

/**
 * The in-memory {@link Queue}. At-least-once within the process: a job whose handler throws is
 * run again after `backoffMs(attempt)` until `maxAttempts`; jobs are lost if the process dies
 * (use a durable queue adapter, such as BullMQ, when that matters).
 *
 * Behaviour where the contract leaves room:
 * - A job is *pending* while it waits to run, including while it waits for a retry; enqueuing an
 *   id that is pending is ignored. An id whose job is running may be enqueued again (it runs again,
 *   after the running one).
 * - Jobs enqueued before {@link MemoryQueue.process} wait for it (and so does `drain`).
 * - Retries use real timers (`setTimeout`), not an injected clock; the timers are not unref'd, so
 *   the process stays alive until retries finish or the queue is closed.
 * - `close` drops waiting jobs and pending retries, waits for running handlers, and makes later
 *   `enqueue` calls reject with a `LeadpipeError` (code `STORE_CLOSED`: the queue's backing store is gone).
 *
 * @example
 * ```ts
 * const queue = new MemoryQueue<EventInput>();
 * queue.process(async (job) => { await engine.track(job.payload); }, { concurrency: 4 });
 * await queue.enqueue({ id: event.id, payload: event });
 * await queue.drain();
 * ```
 */
export class MemoryQueue<T> implements Queue<T> {
  readonly #logger: Logger;
  readonly #waiting: Pending<T>[] = [];
  /** Index of the next job in `#waiting` (a cheap FIFO: the array is compacted now and then). */
  #head = 0;
  /** Ids that are waiting or waiting for a retry. */
  readonly #pendingIds = new Set<string>();
  readonly #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  readonly #running = new Set<Promise<void>>();
  #handler: ((job: QueueJob<T>) => Promise<void>) | undefined;
  #concurrency = DEFAULT_CONCURRENCY;
  #maxAttempts = DEFAULT_MAX_ATTEMPTS;
  #backoff: (attempt: number) => number = defaultBackoff;
  #closed = false;
  #idleWaiters: Array<() => void> = [];

  /** @param options - See {@link MemoryQueueOptions}. */
  constructor(options: MemoryQueueOptions = {}) {
    this.#logger = options.logger ?? silentLogger;
  }

  /** {@inheritDoc Queue.enqueue} */
  async enqueue(job: QueueJob<T>): Promise<void> {
    this.#assertOpen();
    this.#add(job);
    this.#pump();
  }

  /** {@inheritDoc Queue.enqueueMany} */
  async enqueueMany(jobs: readonly QueueJob<T>[]): Promise<void> {
    this.#assertOpen();
    for (const job of jobs) this.#add(job);
    this.#pump();
  }

  /**
   * {@inheritDoc Queue.process}
   * @throws Error when called a second time.
   */
  process(handler: (job: QueueJob<T>) => Promise<void>, options: ProcessOptions = {}): void {
    if (this.#handler) throw new Error('[leadpipe] [memory-queue] process() was already called: create one MemoryQueue per handler.');
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new RangeError(`[leadpipe] [memory-queue] concurrency must be an integer >= 1, got ${concurrency}`);
    if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new RangeError(`[leadpipe] [memory-queue] maxAttempts must be an integer >= 1, got ${maxAttempts}`);
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#maxAttempts = maxAttempts;
    this.#backoff = options.backoffMs ?? defaultBackoff;
    this.#pump();
  }

  /** Resolves when no job is waiting or running ({@link Queue.drain}); jobs enqueued before `process` is called keep it waiting. */
  drain(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking jobs, waits for running ones ({@link Queue.close}); waiting jobs and pending retries are dropped. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    this.#waiting.length = 0;
    this.#head = 0;
    this.#pendingIds.clear();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    this.#notifyIfIdle();
  }

  #assertOpen(): void {
    if (this.#closed) throw new LeadpipeError('STORE_CLOSED', '[leadpipe] [memory-queue] The queue is closed: enqueue before close(), or create a new MemoryQueue.');
  }

  #add(job: QueueJob<T>): void {
    if (this.#pendingIds.has(job.id)) return;
    this.#pendingIds.add(job.id);
    this.#waiting.push({ job, attempts: 0 });
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler || this.#closed) return;
    while (this.#running.size < this.#concurrency && this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head] as Pending<T>;
      this.#waiting[this.#head++] = undefined as unknown as Pending<T>;
      this.#pendingIds.delete(next.job.id);
      const run: Promise<void> = this.#run(handler, next).finally(() => {
        this.#running.delete(run);
        this.#pump();
        this.#notifyIfIdle();
      });
      this.#running.add(run);
    }
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#head);
      this.#head = 0;
    }
  }

  async #run(handler: (job: QueueJob<T>) => Promise<void>, pending: Pending<T>): Promise<void> {
    const attempt = pending.attempts + 1;
    try {
      await handler(pending.job);
      return;
    } catch (error) {
      if (this.#closed) return;
      if (attempt >= this.#maxAttempts) {
        this.#logger.error('queue job failed, giving up', { jobId: pending.job.id, attempts: attempt, error });
        return;
      }
      const delay = Math.max(0, this.#backoff(attempt));
      this.#logger.warn('queue job failed, will retry', { jobId: pending.job.id, attempt, retryInMs: delay, error });
      // A retrying job is pending: the same id enqueued meanwhile is ignored.
      if (this.#pendingIds.has(pending.job.id)) return; // already re-enqueued while it ran: that run is the retry
      this.#pendingIds.add(pending.job.id);
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer);
        if (this.#closed) return;
        this.#waiting.push({ job: pending.job, attempts: attempt });
        this.#pump();
      }, delay);
      this.#retryTimers.add(timer);
    }
  }

  #idle(): boolean {
    return this.#running.size === 0 && this.#retryTimers.size === 0 && this.#head >= this.#waiting.length;
  }

  #notifyIfIdle(): void {
    if (!this.#idle() || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
