/**
 * The `pipeline` workload: generated tour events through the whole pipeline.
 *
 * - `leadpipe`: `createEngine` with the memory store and the tour marketplace config. Events go
 *   in chunks of {@link CHUNK}: nine chunks in ten through `trackMany` (one timing per chunk),
 *   every tenth chunk event by event through `track`, each call timed on its own. Throughput is
 *   all events ÷ all timed time. The reported p50/p99 are the **single-`track` samples** (a real
 *   per-event latency, ~10% of the events); the per-chunk means (`trackMany` time ÷ chunk size)
 *   are kept as `chunkP50us`/`chunkP99us`.
 * - `hand-written`: the minimal loop (see `hand-pipeline.ts`), in the same chunks, each chunk
 *   timed; latency is per-chunk time ÷ chunk size (its single events are too short to time).
 * - `json-rules-engine-glue`: the same scoring with json-rules-engine deciding qualification
 *   and routing per event; it runs a prefix of the stream (it is ~1,000× slower), each event
 *   timed on its own.
 *
 * Generating a chunk is never inside a timed region. Memory per lead is the settled heap after
 * the run minus the settled heap before the implementation was created, ÷ leads; for leadpipe
 * that includes everything the memory store keeps (every event, the outbox with each delivery's
 * lead snapshot, the audit log), not only the lead states.
 * @module
 */
import { createEngine, ManualClock } from '@leadpipe/core';
import type { Config, LeadState } from '@leadpipe/core';
import { EventStream, START, type TourEvent, type World } from './events.js';
import { HandWrittenPipeline, JsonRulesEngineGlue, trackAll, type PipelineOutcome } from './hand-pipeline.js';
import { fmtUs, quantile, settledHeap } from './measure.js';

/** Events per `trackMany` call / timed chunk. */
export const CHUNK = 1000;
/** One chunk in this many goes through single `track` calls, each timed. */
const SAMPLE_EVERY = 10;

/** One measured pipeline run. */
export interface PipelineRun {
  impl: 'leadpipe' | 'hand-written' | 'json-rules-engine-glue' | 'latency-floor';
  events: number;
  seconds: number;
  opsPerSec: number;
  p50us: number;
  p99us: number;
  /** leadpipe only: per-event latency derived from `trackMany` chunk times. */
  chunkP50us?: number;
  chunkP99us?: number;
  bytesPerLead?: number;
  heapBytes?: number;
  outcome: PipelineOutcome;
  note: string;
}

const elapsedNs = (t0: bigint) => Number(process.hrtime.bigint() - t0);

/** Runs `events` generated events through leadpipe's engine. */
export async function runLeadpipe(config: Config, world: World, events: number, options: { measureMemory: boolean; readOutcome: boolean; seed?: number; onProgress?: (events: number) => void }): Promise<PipelineRun> {
  const before = options.measureMemory ? settledHeap() : 0;
  const stream = new EventStream(world, events, options.seed);
  const clock = new ManualClock(START);
  const engine = createEngine({ config, clock });
  const single: number[] = [];
  const chunkMeans: number[] = [];
  let deliveries = 0;
  let leads = 0;
  let timedNs = 0;
  let chunkIndex = 0;
  for (;;) {
    const chunk = stream.next(CHUNK);
    if (chunk.length === 0) break;
    clock.set((chunk[0] as TourEvent).occurredAt + 1000);
    if (options.onProgress && chunkIndex % 500 === 0) options.onProgress(stream.count - chunk.length);
    if (chunkIndex++ % SAMPLE_EVERY === SAMPLE_EVERY - 1) {
      for (const e of chunk) {
        const t0 = process.hrtime.bigint();
        const r = await engine.track(e);
        const dt = elapsedNs(t0);
        timedNs += dt;
        single.push(dt / 1000);
        deliveries += r.effects.length;
        if (r.leads[0]?.version === 1) leads++;
      }
    } else {
      const t0 = process.hrtime.bigint();
      const rs = await engine.trackMany(chunk);
      const dt = elapsedNs(t0);
      timedNs += dt;
      chunkMeans.push(dt / 1000 / chunk.length);
      for (const r of rs) {
        deliveries += r.effects.length;
        if (r.leads[0]?.version === 1) leads++;
      }
    }
  }
  const heapBytes = options.measureMemory ? settledHeap() - before : undefined;
  // The outcome is read back after the memory measurement so it does not count. Without
  // `readOutcome` (the scaling runs) only the counts gathered from the track results are kept.
  const outcome = options.readOutcome ? await leadpipeOutcome(engine.store, stream.count, deliveries) : { events: stream.count, leads, deliveries, byStage: {}, byTier: {} };
  if (outcome.leads !== leads) throw new Error(`[bench] leadpipe: ${leads} leads created according to track results, ${outcome.leads} in the store`);
  const seconds = timedNs / 1e9;
  return {
    impl: 'leadpipe',
    events: stream.count,
    seconds,
    opsPerSec: stream.count / seconds,
    p50us: quantile(single, 0.5),
    p99us: quantile(single, 0.99),
    chunkP50us: quantile(chunkMeans, 0.5),
    chunkP99us: quantile(chunkMeans, 0.99),
    ...(heapBytes !== undefined ? { heapBytes, bytesPerLead: heapBytes / outcome.leads } : {}),
    outcome,
    note: `memory store; trackMany × ${CHUNK}, 1 chunk in ${SAMPLE_EVERY} via single track(); p50/p99 = single track() calls`,
  };
}

async function leadpipeOutcome(store: { listLeads(tenantId: string, filter: { limit: number; cursor?: string }): Promise<{ leads: LeadState[]; next?: string }> }, events: number, deliveries: number): Promise<PipelineOutcome> {
  const byStage: Record<string, number> = {};
  const byTier: Record<string, number> = {};
  let leads = 0;
  for (let cursor: string | undefined; ; ) {
    const page = await store.listLeads('default', { limit: 50_000, ...(cursor ? { cursor } : {}) });
    for (const lead of page.leads) {
      leads++;
      byStage[lead.stage] = (byStage[lead.stage] ?? 0) + 1;
      byTier[lead.tier ?? '(none)'] = (byTier[lead.tier ?? '(none)'] ?? 0) + 1;
    }
    if (!page.next) break;
    cursor = page.next;
  }
  return { events, leads, deliveries, byStage, byTier };
}

/** Runs `events` generated events through the hand-written loop. */
export function runHandWritten(config: Config, world: World, events: number, options: { measureMemory: boolean; seed?: number }): PipelineRun {
  const before = options.measureMemory ? settledHeap() : 0;
  const stream = new EventStream(world, events, options.seed);
  const pipeline = new HandWrittenPipeline(config, world);
  const chunkMeans: number[] = [];
  let timedNs = 0;
  for (;;) {
    const chunk = stream.next(CHUNK);
    if (chunk.length === 0) break;
    const t0 = process.hrtime.bigint();
    trackAll(pipeline, chunk);
    const dt = elapsedNs(t0);
    timedNs += dt;
    chunkMeans.push(dt / 1000 / chunk.length);
  }
  const heapBytes = options.measureMemory ? settledHeap() - before : undefined;
  const outcome = pipeline.outcome();
  const seconds = timedNs / 1e9;
  return {
    impl: 'hand-written',
    events: stream.count,
    seconds,
    opsPerSec: stream.count / seconds,
    p50us: quantile(chunkMeans, 0.5),
    p99us: quantile(chunkMeans, 0.99),
    ...(heapBytes !== undefined ? { heapBytes, bytesPerLead: heapBytes / outcome.leads } : {}),
    outcome,
    note: `Map of per-pair decayed sums; chunks of ${CHUNK}; p50/p99 = chunk time ÷ ${CHUNK}`,
  };
}

/** Runs the first `events` generated events through the json-rules-engine glue. */
export async function runGlue(config: Config, world: World, events: number, totalEvents: number, options: { seed?: number } = {}): Promise<PipelineRun> {
  const stream = new EventStream(world, events, options.seed);
  const glue = new JsonRulesEngineGlue(config, world);
  const single: number[] = [];
  let timedNs = 0;
  for (;;) {
    const chunk = stream.next(CHUNK);
    if (chunk.length === 0) break;
    for (const e of chunk) {
      const t0 = process.hrtime.bigint();
      await glue.track(e);
      const dt = elapsedNs(t0);
      timedNs += dt;
      single.push(dt / 1000);
    }
  }
  const seconds = timedNs / 1e9;
  return {
    impl: 'json-rules-engine-glue',
    events: stream.count,
    seconds,
    opsPerSec: stream.count / seconds,
    p50us: quantile(single, 0.5),
    p99us: quantile(single, 0.99),
    outcome: glue.outcome(),
    note: `first ${stream.count.toLocaleString('en-US')} of the ${totalEvents.toLocaleString('en-US')} events only (it is slow); each event timed`,
  };
}

/**
 * The machine's own latency noise, as a baseline for leadpipe's single-call percentiles: a fixed,
 * allocation-free CPU task calibrated to take leadpipe's median single `track()` time, called and
 * timed exactly like those calls (an awaited async call between two `hrtime` reads), `samples`
 * times. On a shared virtual machine the task's p99 is several times its median although it does
 * the same work every time: that spread is the scheduler's, not the code's.
 */
export async function runLatencyFloor(targetUs: number, samples: number): Promise<PipelineRun> {
  let sink = 0;
  const spin = (n: number) => {
    let x = 0;
    for (let i = 0; i < n; i++) x += Math.sqrt(i + x);
    return x;
  };
  const task = async (n: number) => {
    sink += spin(n);
  };
  const medianOf = async (n: number, calls: number) => {
    const times: number[] = [];
    for (let k = 0; k < calls; k++) {
      const t0 = process.hrtime.bigint();
      await task(n);
      times.push(elapsedNs(t0) / 1000);
    }
    return quantile(times, 0.5);
  };
  // Calibrate: grow n until the median reaches the target, then scale it linearly.
  let n = 100;
  let median = await medianOf(n, 300);
  while (median < targetUs && n < 1e9) {
    n *= 2;
    median = await medianOf(n, 300);
  }
  n = Math.max(1, Math.round((n * targetUs) / median));
  const single: number[] = [];
  let timedNs = 0;
  for (let k = 0; k < samples; k++) {
    const t0 = process.hrtime.bigint();
    await task(n);
    const dt = elapsedNs(t0);
    timedNs += dt;
    single.push(dt / 1000);
  }
  if (sink === 42) console.log(''); // keeps the work observable
  const seconds = timedNs / 1e9;
  return {
    impl: 'latency-floor',
    events: samples,
    seconds,
    opsPerSec: samples / seconds,
    p50us: quantile(single, 0.5),
    p99us: quantile(single, 0.99),
    outcome: { events: 0, leads: 0, deliveries: 0, byStage: {}, byTier: {} },
    note: `not a pipeline: a fixed CPU task calibrated to leadpipe's median single track() (${fmtUs(targetUs)} µs), awaited and timed the same way, ${samples.toLocaleString('en-US')} times; its spread is this machine's`,
  };
}

/** Differences between two outcomes, as readable lines (empty when they agree). */
export function compareOutcomes(a: PipelineOutcome, b: PipelineOutcome, labelA: string, labelB: string): string[] {
  const out: string[] = [];
  for (const key of ['events', 'leads', 'deliveries'] as const) {
    if (a[key] !== b[key]) out.push(`${key}: ${labelA} ${a[key]} ≠ ${labelB} ${b[key]}`);
  }
  for (const key of ['byStage', 'byTier'] as const) {
    const names = new Set([...Object.keys(a[key]), ...Object.keys(b[key])]);
    for (const n of names) {
      const x = a[key][n] ?? 0;
      const y = b[key][n] ?? 0;
      if (x !== y) out.push(`${key}.${n}: ${labelA} ${x} ≠ ${labelB} ${y}`);
    }
  }
  return out;
}
