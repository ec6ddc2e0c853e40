/**
 * Clocks: the real one, and a manual one for tests, replays and simulations.
 * Everything in leadpipe that needs "now" takes a {@link Clock}, so time is always injectable.
 * @module
 */
import type { Clock } from '../contracts.js';

/**
 * The real wall clock (`Date.now()`). The default wherever a clock is optional.
 *
 * @example
 * ```ts
 * const scheduler = new MemoryScheduler({ clock: systemClock });
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
});

/**
 * A clock that moves only when told to. Use it in tests and replays so that scoring decay,
 * dedupe windows, leases and schedules are exact and repeatable.
 *
 * The time may be set backwards (to simulate skew between nodes); nothing in the clock itself
 * forbids it.
 *
 * @example
 * ```ts
 * const clock = new ManualClock('2025-03-28T12:00:00Z');
 * clock.advance(60_000);        // one minute later
 * clock.set('2025-03-29T00:00:00Z');
 * clock.now();                  // 1743206400000
 * ```
 */
export class ManualClock implements Clock {
  #now: number;

  /**
   * @param start - The initial time: epoch milliseconds, an ISO-8601 string (with an offset) or a `Date`.
   * @throws RangeError when `start` is not a valid time.
   */
  constructor(start: number | string | Date) {
    this.#now = toEpochMs(start);
  }

  /** The current time of this clock, in epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /**
   * Jump to a given time (forwards or backwards).
   * @returns The new time, in epoch milliseconds.
   * @throws RangeError when `t` is not a valid time.
   */
  set(t: number | string | Date): number {
    this.#now = toEpochMs(t);
    return this.#now;
  }

  /**
   * Move the clock by `ms` milliseconds (a negative value moves it back).
   * @returns The new time, in epoch milliseconds.
   * @throws RangeError when `ms` is not a finite number.
   */
  advance(ms: number): number {
    if (!Number.isFinite(ms)) throw new RangeError(`[leadpipe] [clock] advance(ms) needs a finite number of milliseconds, got ${String(ms)}`);
    this.#now += ms;
    return this.#now;
  }
}

function toEpochMs(t: number | string | Date): number {
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t.getTime();
  if (!Number.isFinite(ms)) {
    throw new RangeError(`[leadpipe] [clock] not a valid time: ${String(t)}. Use epoch milliseconds, an ISO-8601 string or a Date.`);
  }
  return ms;
}
