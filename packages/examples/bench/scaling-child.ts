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
/** Events the hand-written loop's measured runs add up to at least (see below)… */
const HAND_TIMED_EVENTS = 1_000_000;
/** …in at most this many runs. */
const HAND_MAX_RUNS = 11;

const events = Number(process.argv[2]);
const impl = (process.argv[3] ?? 'leadpipe') as ScalingImpl;
if (!Number.isInteger(events) || events <= 0 || !SCALING_IMPLS.includes(impl)) {
  console.error(`usage: scaling-child.ts <events> [${SCALING_IMPLS.join('|')}]`);
  process.exit(2);
}
const world = buildWorld();
const config = tourConfig(world);
// Untimed warm-up on an engine (or loop) of its own (another seed), dropped before the measured
// run: what a fresh process does first (the runtime compiling and optimising the engine's and the
// store's shared code, among others), timed, made the smallest size look slower per event than it
// is (100k events: 9.72 µs/event without, 9.02 with, means of three alternating runs), which
// flattered the ratio to the largest size. Each engine's generated rule conditions are its own
// functions, still compiled during its own (timed) run. Every size gets the same warm-up, and
// memory is measured from after it (so the shared code's compiled form is in the baseline).
let run: PipelineRun;
let note: string;
if (impl === 'hand-written') {
  runHandWritten(config, world, WARM_UP_EVENTS, { measureMemory: false, seed: 99 });
  // The loop's smaller sizes last a fraction of a second (100k events: ~0.15 s), short enough for
  // a moment of the shared host to move them by half (1.14–1.84 µs/event in four single runs).
  // They are run until about 1M events have been timed, an odd number of times and at most
  // HAND_MAX_RUNS, each with a fresh loop on the same stream and from a settled heap (the memory
  // measurement forces collections before and after each run, untimed), and the run of median
  // time is reported, with the first run's memory (later runs start with more of the loop's code
  // optimised, and their memory would be measured the same way).
  const count = Math.min(HAND_MAX_RUNS, Math.ceil(HAND_TIMED_EVENTS / events)) | 1;
  const runs: PipelineRun[] = [];
  for (let k = 0; k < count; k++) runs.push(runHandWritten(config, world, events, { measureMemory: true }));
  const first = runs[0] as PipelineRun;
  const median = [...runs].sort((a, b) => a.seconds - b.seconds)[(count - 1) / 2] as PipelineRun;
  run = { ...median, bytesPerLead: first.bytesPerLead, heapBytes: first.heapBytes };
  note = count > 1 ? `${run.note}; the median of ${count} runs (memory: the first run's)` : run.note;
} else {
  await runLeadpipe(config, world, WARM_UP_EVENTS, { measureMemory: false, readOutcome: false, seed: 99 });
  // Progress lines let the parent say how far a size got when it is killed or runs out of memory.
  const started = performance.now();
  const progress = (done: number) => console.log(`progress ${JSON.stringify({ events: done, wallSeconds: (performance.now() - started) / 1000, heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}`);
  run = await runLeadpipe(config, world, events, { measureMemory: true, readOutcome: false, onProgress: progress });
  note = run.note;
}
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
