/**
 * Timing and memory helpers shared by the benchmark workloads.
 *
 * - **Throughput** is measured in timed groups: a group of `group` operations is timed with
 *   `process.hrtime.bigint()` (so the clock is read twice per group, not per operation), and
 *   groups run until the time budget is used up. ops/s = operations ÷ the sum of group times.
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

/** Options of {@link measureSync} and {@link measureAsync}. */
export interface MeasureOptions {
  /** Time budget for the timed part, ms. */
  budgetMs: number;
  /** Warm-up time before timing, ms (lets the JIT optimise the code under test). */
  warmupMs: number;
  /** Operations per timed group. */
  group: number;
}

const now = () => process.hrtime.bigint();

/**
 * Times a synchronous operation `fn(i)` (i = 0, 1, 2, …) in groups. `fn`'s return values are
 * folded into a sink so the optimiser cannot drop the work.
 */
export function measureSync(fn: (i: number) => number, options: MeasureOptions): Timing & { sink: number } {
  const { budgetMs, warmupMs, group } = options;
  let sink = 0;
  let i = 0;
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) for (let k = 0; k < group; k++) sink += fn(i++);
  const samples: number[] = [];
  let totalNs = 0n;
  const budgetNs = BigInt(Math.round(budgetMs * 1e6));
  while (totalNs < budgetNs) {
    const t0 = now();
    for (let k = 0; k < group; k++) sink += fn(i++);
    const dt = now() - t0;
    totalNs += dt;
    samples.push(Number(dt) / group);
  }
  return finish(samples, totalNs, group, sink);
}

/** As {@link measureSync}, for an operation that returns a promise: each call is awaited before the next. */
export async function measureAsync(fn: (i: number) => Promise<number>, options: MeasureOptions): Promise<Timing & { sink: number }> {
  const { budgetMs, warmupMs, group } = options;
  let sink = 0;
  let i = 0;
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) for (let k = 0; k < group; k++) sink += await fn(i++);
  const samples: number[] = [];
  let totalNs = 0n;
  const budgetNs = BigInt(Math.round(budgetMs * 1e6));
  while (totalNs < budgetNs) {
    const t0 = now();
    for (let k = 0; k < group; k++) sink += await fn(i++);
    const dt = now() - t0;
    totalNs += dt;
    samples.push(Number(dt) / group);
  }
  return finish(samples, totalNs, group, sink);
}

function finish(samples: number[], totalNs: bigint, group: number, sink: number): Timing & { sink: number } {
  const ops = samples.length * group;
  const seconds = Number(totalNs) / 1e9;
  const p50 = quantile(samples, 0.5) / 1000;
  const p99 = quantile(samples, 0.99) / 1000;
  return { ops, seconds, opsPerSec: ops / seconds, p50us: p50, p99us: p99, group, sink };
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
