/**
 * One size of the `scaling` workload, run by `scaling.ts` in a fresh process:
 * `node --expose-gc … scaling-child.ts <events>`. Prints one JSON line (a `ScalingPoint`
 * without `wallSeconds`) on stdout.
 * @module
 */
import { buildWorld, tourConfig } from './events.js';
import { runLeadpipe } from './pipeline.js';

/** Events run, untimed, before the measured run. */
const WARM_UP_EVENTS = 50_000;

const events = Number(process.argv[2]);
if (!Number.isInteger(events) || events <= 0) {
  console.error('usage: scaling-child.ts <events>');
  process.exit(2);
}
const world = buildWorld();
const config = tourConfig(world);
// Untimed warm-up on an engine of its own (another seed), dropped before the measured run: what a
// fresh process does first (the runtime compiling and optimising the engine's and the store's
// shared code, among others), timed, made the smallest size look slower per event than it is
// (100k events: 9.72 µs/event without, 9.02 with, means of three alternating runs), which
// flattered the ratio to the largest size. Each engine's generated rule conditions are its own
// functions, still compiled during its own (timed) run. Every size gets the same warm-up, and
// memory is measured from after it (so the shared code's compiled form is in the baseline).
await runLeadpipe(config, world, WARM_UP_EVENTS, { measureMemory: false, readOutcome: false, seed: 99 });
// Progress lines let the parent say how far a size got when it is killed or runs out of memory.
const started = performance.now();
const progress = (done: number) => console.log(`progress ${JSON.stringify({ events: done, wallSeconds: (performance.now() - started) / 1000, heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}`);
const run = await runLeadpipe(config, world, events, { measureMemory: true, readOutcome: false, onProgress: progress });
console.log(
  JSON.stringify({
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
  }),
);
