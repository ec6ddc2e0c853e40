/**
 * Timing and memory helpers shared by the benchmark workloads.
 *
 * - **Throughput** is measured in timed groups: a group of `group` operations is timed with
 *   `process.hrtime.bigint()` (so the clock is read twice per group, not per operation), and
 *   groups run until the time budget is used up. ops/s = operations ÷ the sum of group times.
 *   Implementations compared with each other take turns in rounds ({@link interleave}).
 * - **Latency** comes from the same groups: each group's time ÷ its size is one per-operation
 *   sample; p50 and p99 are taken over those samples. For fast evaluators a group is 100
 *   operations (the clock's own cost, ~50 ns, would otherwise dominate a 100 ns evaluation); for
 *   slow ones (json-rules-engine, ~hundreds of µs) a group is a single operation, so the
 *   percentiles are true single-call latencies.
 * - **Memory** is `heapUsed` plus `arrayBuffers` (typed arrays' contents, which V8 keeps outside
 *   its heap for all but the smallest arrays: the memory store's hash tables hold their hashes in
 *   them) after forced full garbage collections, minus a baseline taken the same way before the
 *   structure was built.
 * @module
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

/** A timed measurement of one implementation on one workload. */
export interface Timing {
  /** Operations measured (excluding warm-up). */
  ops: number;
  /** Seconds spent inside the timed groups. */
  seconds: number;
  opsPerSec: number;
  /** Median per-operation latency, µs. */
  p50us: number;
  /** 99th percentile per-operation latency, µs. */
  p99us: number;
  /** Operations per timed group (1 = single-call latencies). */
  group: number;
}

/** The q-quantile (0–1) of a sample, by nearest rank. Sorts `values` in place. */
export function quantile(values: number[] | Float64Array, q: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const index = Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1));
  return values[index] as number;
}

/** Options of a {@link Meter}. */
export interface MeterOptions {
  /** Warm-up time before timing, ms (lets the JIT optimise the code under test). */
  warmupMs: number;
  /** Operations per timed group. */
  group: number;
}

const now = () => process.hrtime.bigint();

/**
 * Times an operation `fn(i)` (i = 0, 1, 2, …) in groups, over as many timed stretches as
 * {@link Meter.run} is called: samples, time and operations add up across stretches, so several
 * implementations can take turns (see {@link interleave}). The operation's return values are
 * folded into a sink so the optimiser cannot drop the work. {@link SyncMeter} calls a synchronous
 * operation without ever awaiting (an `await` per call would add a microtask turn to an operation
 * of a few hundred nanoseconds); {@link AsyncMeter} awaits each call before the next.
 */
export abstract class Meter {
  protected sink = 0;
  protected i = 0;
  #totalNs = 0n;
  /** Timed time asked for so far: each stretch runs until the total reaches it, so overshoot does not add up over stretches. */
  #budgetNs = 0n;
  readonly #samples: number[] = [];

  constructor(protected readonly options: MeterOptions) {}

  /** Runs the operation untimed for the warm-up time. */
  async warmUp(): Promise<void> {
    const end = performance.now() + this.options.warmupMs;
    while (performance.now() < end) {
      const pending = this.group();
      if (pending) await pending;
    }
  }

  /** Runs timed groups until the timed time reaches every budget given so far, `budgetMs` included. */
  async run(budgetMs: number): Promise<void> {
    this.#budgetNs += BigInt(Math.round(budgetMs * 1e6));
    while (this.#totalNs < this.#budgetNs) {
      const t0 = now();
      const pending = this.group();
      if (pending) await pending;
      const dt = now() - t0;
      this.#totalNs += dt;
      this.#samples.push(Number(dt) / this.options.group);
    }
  }

  /** Everything timed so far. */
  timing(): Timing & { sink: number } {
    const { group } = this.options;
    const ops = this.#samples.length * group;
    const seconds = Number(this.#totalNs) / 1e9;
    const samples = [...this.#samples];
    return { ops, seconds, opsPerSec: ops / seconds, p50us: quantile(samples, 0.5) / 1000, p99us: quantile(samples, 0.99) / 1000, group, sink: this.sink };
  }

  /** One group of calls; a promise only for an asynchronous operation. */
  protected abstract group(): Promise<void> | undefined;
}

/** A {@link Meter} of a synchronous operation. */
export class SyncMeter extends Meter {
  constructor(
    private readonly fn: (i: number) => number,
    options: MeterOptions,
  ) {
    super(options);
  }

  protected group(): undefined {
    const fn = this.fn;
    const n = this.options.group;
    let sink = this.sink;
    let i = this.i;
    for (let k = 0; k < n; k++) sink += fn(i++);
    this.sink = sink;
    this.i = i;
    return undefined;
  }
}

/** A {@link Meter} of an operation that returns a promise, each call awaited before the next. */
export class AsyncMeter extends Meter {
  constructor(
    private readonly fn: (i: number) => Promise<number>,
    options: MeterOptions,
  ) {
    super(options);
  }

  protected async group(): Promise<void> {
    for (let k = 0; k < this.options.group; k++) this.sink += await this.fn(this.i++);
  }
}

/**
 * Measures several implementations in turns: each is warmed up, then `rounds` rounds give each
 * its share of its budget (`budgetsMs[k] / rounds`), the order rotating from round to round. A
 * slow moment of a shared machine (another tenant, the process's own start-up work) then falls on
 * every implementation instead of on whichever was being timed, so the ratios between them, which
 * is what the targets are stated in, hold up better than with one long stretch each. Before every
 * stretch, warm-up included, `settle` runs untimed (the benchmark passes a forced full garbage
 * collection), so that no stretch pays for the garbage of the one before it: in the rotation
 * some implementation always follows the one that makes the most.
 */
export async function interleave(meters: readonly Meter[], budgetsMs: readonly number[], rounds: number, settle: () => void): Promise<void> {
  for (const m of meters) {
    settle();
    await m.warmUp();
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < meters.length; k++) {
      const j = (k + r) % meters.length;
      settle();
      await (meters[j] as Meter).run((budgetsMs[j] as number) / rounds);
    }
  }
}

let gcFn: (() => void) | undefined;

/**
 * A function that forces a full garbage collection. Uses `global.gc` when node runs with
 * `--expose-gc`; otherwise turns the flag on at run time (V8 reads it when a new context is
 * created, so `gc` appears in a fresh `vm` context), which spares re-spawning the process.
 */
export function forceGc(): () => void {
  if (gcFn) return gcFn;
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === 'function') return (gcFn = global.gc);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  if (typeof gc !== 'function') throw new Error('[bench] cannot force garbage collection: run node with --expose-gc');
  return (gcFn = gc as () => void);
}

/** Heap in use plus typed arrays' contents, after forced full collections (several, so weak references and finalizers settle). */
export function settledHeap(): number {
  const gc = forceGc();
  for (let i = 0; i < 4; i++) gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Formats a latency in µs with a sensible number of decimals. */
export function fmtUs(us: number | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return '—';
  return us < 1 ? us.toFixed(3) : us < 100 ? us.toFixed(2) : fmt(us, 0);
}
