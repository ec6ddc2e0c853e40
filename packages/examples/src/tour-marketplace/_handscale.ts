// Scratch: the hand-written loop's time per event at one size (fresh process, warmed up like the scaling child).
import { buildWorld, tourConfig } from '../../bench/events.js';
import { runHandWritten } from '../../bench/pipeline.js';
const n = Number(process.argv[2]);
const world = buildWorld();
const config = tourConfig(world);
runHandWritten(config, world, 50_000, { measureMemory: false, seed: 99 });
const r = runHandWritten(config, world, n, { measureMemory: false });
console.log(`${n} hand ${(r.seconds * 1e6 / r.events).toFixed(3)} us/event`);
