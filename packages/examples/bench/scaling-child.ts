/**
 * One size of the `scaling` workload for one implementation, run by `scaling.ts` in a fresh
 * process: `node --expose-gc … scaling-child.ts <events> [leadpipe|hand-written]` (leadpipe by
 * default). Prints one JSON line (a `ScalingPoint` without `wallSeconds`) on stdout.
 * @module
 */
import { buildWorld, tourConfig } from './events.js';
import { runHandWritten, runLeadpipe, type PipelineRun } from './pipeline.js';
import { SCALING_IMPLS, type ScalingImpl } from './scaling.js';

/** Events run, untimed, before the measured run. */
const WARM_UP_EVENTS = 50_000;
/** Events the measured runs of a size add up to at least (see below)… */
const TIMED_EVENTS = 1_000_000;
/** …in at most this many runs. */
const MAX_RUNS = 11;

const events = Number(process.argv[2]);
const impl = (process.argv[3] ?? 'leadpipe') as ScalingImpl;
if (!Number.isInteger(events) || events <= 0 || !SCALING_IMPLS.includes(impl)) {
  console.error(`usage: scaling-child.ts <events> [${SCALING_IMPLS.join('|')}]`);
  process.exit(2);
}
const world = buildWorld();
const config = tourConfig(world);
// Progress lines let the parent say how far a size got when it is killed or runs out of memory.
const started = performance.now();
const progress = (done: number) => console.log(`progress ${JSON.stringify({ events: done, wallSeconds: (performance.now() - started) / 1000, heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}`);
/** One run of `n` events through this child's implementation: a warm-up (another seed, no memory measured) or a measured run. */
const runOnce = async (n: number, measured: boolean): Promise<PipelineRun> => {
  const stream = measured ? {} : { seed: 99 };
  if (impl === 'hand-written') return runHandWritten(config, world, n, { measureMemory: measured, ...stream });
  return runLeadpipe(config, world, n, { measureMemory: measured, readOutcome: false, ...stream, ...(measured ? { onProgress: progress } : {}) });
};
// Untimed warm-up on an engine (or loop) of its own (another seed), dropped before the measured
// run: what a fresh process does first (the runtime compiling and optimising the engine's and the
// store's shared code, among others), timed, made the smallest size look slower per event than it
// is (100k events: 9.72 µs/event without, 9.02 with, means of three alternating runs), which
// flattered the ratio to the largest size. Each engine's generated rule conditions are its own
// functions, still compiled during its own (timed) run. Every size gets the same warm-up, and
// memory is measured from after it (so the shared code's compiled form is in the baseline).
await runOnce(WARM_UP_EVENTS, false);
// The smaller sizes are short: 100k events take ~0.15 s through the hand-written loop and ~0.9 s
// through leadpipe, short enough for a moment of the shared host to move them by half (the loop:
// 1.14–1.84 µs/event in four single runs; leadpipe: 8.22–12.58 in five runs of the fifteenth
// session). As the smallest size is what the growth is measured against, a size is run until
// about 1M events have been timed, an odd number of times and at most MAX_RUNS (11 runs at 100k,
// 3 at 400k, one from 1M up), each with a fresh engine or loop on the same stream and from a
// settled heap (the memory measurement forces collections before and after each run, untimed).
// The run of median time is reported, with the first run's memory (later runs start with more of
// the code optimised).
const count = Math.min(MAX_RUNS, Math.ceil(TIMED_EVENTS / events)) | 1;
const runs: PipelineRun[] = [];
for (let k = 0; k < count; k++) runs.push(await runOnce(events, true));
const first = runs[0] as PipelineRun;
const median = [...runs].sort((a, b) => a.seconds - b.seconds)[(count - 1) / 2] as PipelineRun;
const run: PipelineRun = { ...median, bytesPerLead: first.bytesPerLead, heapBytes: first.heapBytes };
const note = count > 1 ? `${run.note}; the median of ${count} runs (memory: the first run's)` : run.note;
console.log(
  JSON.stringify({
    impl,
    events: run.events,
    status: 'ok',
    seconds: run.seconds,
    opsPerSec: run.opsPerSec,
    p50us: run.p50us,
    p99us: run.p99us,
    leads: run.outcome.leads,
    bytesPerLead: run.bytesPerLead,
    heapBytes: run.heapBytes,
    usPerEvent: (run.seconds * 1e6) / run.events,
    note,
  }),
);
