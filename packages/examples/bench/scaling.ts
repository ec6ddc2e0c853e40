/**
 * The `scaling` workload: leadpipe's pipeline (the same run as `pipeline`'s `leadpipe` impl) at
 * growing stream lengths, and the hand-written loop (`pipeline`'s `hand-written` impl) at each
 * length right after it, as the baseline: how much time per event grows with the number of leads
 * on this machine when a loop keeps per-lead state and nothing else (no event log, ids, outbox or
 * audit). Each run is in a **fresh child process**:
 *
 * - an out-of-memory crash at 10 million events cannot be caught inside the process that runs
 *   it, but a parent can see it, report it and carry on;
 * - each size starts from an empty heap, so its memory per lead is not inflated by garbage or
 *   fragmentation left by the previous size;
 * - a size that takes longer than the time limit is killed and reported as not completed.
 *
 * The child gets `--max-old-space-size` (default: half the machine's memory) and `--expose-gc`.
 * @module
 */
import { spawn } from 'node:child_process';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The implementations the scaling workload runs, in the order it runs them at each size. */
export const SCALING_IMPLS = ['leadpipe', 'hand-written'] as const;
export type ScalingImpl = (typeof SCALING_IMPLS)[number];

/** One size of the scaling run, for one implementation. */
export interface ScalingPoint {
  impl: ScalingImpl;
  events: number;
  status: 'ok' | 'not-completed';
  /** Why it did not complete. */
  reason?: string;
  /**
   * Timed seconds, as in `pipeline`: inside `track`/`trackMany` calls (leadpipe), in timed chunks
   * (hand-written; of its median run when a small size is run several times, see `scaling-child.ts`).
   */
  seconds?: number;
  /** Wall-clock seconds of the child, including event generation, start-up and every run it made. */
  wallSeconds: number;
  opsPerSec?: number;
  p50us?: number;
  p99us?: number;
  leads?: number;
  bytesPerLead?: number;
  heapBytes?: number;
  /** µs per event (timed seconds ÷ events). */
  usPerEvent?: number;
  /** How the child measured it (the pipeline run's note; for the loop, how many runs). */
  note?: string;
}

/** Options of {@link runScaling}. */
export interface ScalingOptions {
  sizes: number[];
  /** Per-size time limit, s. */
  timeoutSec: number;
  /** The child's `--max-old-space-size`, MB. */
  heapMb: number;
  log: (line: string) => void;
}

/** Default heap limit for the scaling children: half the machine's memory. */
export function defaultHeapMb(): number {
  return Math.floor(totalmem() / 2 / 1024 / 1024);
}

const CHILD = fileURLToPath(new URL('./scaling-child.ts', import.meta.url));

/**
 * Runs each size in child processes, one after the other: leadpipe, then the hand-written loop at
 * the same size, so that both meet about the same moment of a shared host.
 */
export async function runScaling(options: ScalingOptions): Promise<ScalingPoint[]> {
  const points: ScalingPoint[] = [];
  for (const events of options.sizes) {
    for (const impl of SCALING_IMPLS) {
      options.log(`  scaling: ${impl}, ${events.toLocaleString('en-US')} events (child process, heap limit ${options.heapMb.toLocaleString('en-US')} MB, time limit ${options.timeoutSec} s)…`);
      const point = await runChild(impl, events, options);
      points.push(point);
      if (point.status === 'ok') {
        options.log(
          `    ${(point.seconds as number).toFixed(1)} s in ${impl === 'leadpipe' ? 'track calls' : 'timed chunks'} (${point.wallSeconds.toFixed(1)} s wall), ${Math.round(point.opsPerSec as number).toLocaleString('en-US')} events/s, ` +
            `${(point.leads as number).toLocaleString('en-US')} leads, ${Math.round(point.bytesPerLead as number).toLocaleString('en-US')} bytes/lead`,
        );
      } else {
        options.log(`    NOT COMPLETED: ${point.reason}`);
      }
    }
  }
  return points;
}

function runChild(impl: ScalingImpl, events: number, options: ScalingOptions): Promise<ScalingPoint> {
  // The parent's loader flags (`--conditions=@leadpipe/source --import tsx`) are passed on.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--max-old-space-size') && a !== '--expose-gc');
  const args = [...execArgv, `--max-old-space-size=${options.heapMb}`, '--expose-gc', CHILD, String(events), impl];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutSec * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallSeconds = (performance.now() - started) / 1000;
      const lines = stdout.trim().split('\n');
      const line = lines[lines.length - 1] ?? '';
      const last = lines.filter((l) => l.startsWith('progress ')).pop();
      const got = last ? (JSON.parse(last.slice('progress '.length)) as { events: number; wallSeconds: number; heapMb: number }) : undefined;
      const reached = got ? ` after ${got.events.toLocaleString('en-US')} events in ${Math.round(got.wallSeconds)} s, heap ${got.heapMb.toLocaleString('en-US')} MB at that point` : '';
      if (code === 0 && line.startsWith('{')) {
        // The implementation asked for, whatever the child printed.
        resolve({ ...(JSON.parse(line) as Omit<ScalingPoint, 'wallSeconds'>), impl, wallSeconds });
        return;
      }
      let reason: string;
      if (timedOut) reason = `time limit of ${options.timeoutSec} s reached${reached} (raise it with --scale-timeout)`;
      else if (/heap out of memory|Allocation failed|Reached heap limit/i.test(stderr)) reason = `out of memory: the V8 heap limit of ${options.heapMb.toLocaleString('en-US')} MB was reached${reached} (raise it with --scale-heap-mb)`;
      else reason = `child exited with ${signal ? `signal ${signal}` : `code ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ') || '(no output)'}`;
      resolve({ impl, events, status: 'not-completed', reason, wallSeconds });
    });
  });
}
