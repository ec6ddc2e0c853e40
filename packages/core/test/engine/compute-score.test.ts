import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { buildRuntime, type Runtime } from '../../src/pipeline/runtime.js';
import { computeScore, type ScoreResult } from '../../src/pipeline/score.js';
import type { ScoringState } from '../../src/types.js';

const RUNS = Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 1000);

/**
 * computeScore as its documentation states it, written the plain way: fresh arrays, a sort for the
 * largest-remainder order. The engine's version reuses module-level scratch arrays and sorts by
 * insertion; this is the oracle it must equal on every call, whatever the calls before it left in
 * the scratch arrays.
 */
function reference(rt: Runtime, state: ScoringState, fit: ReadonlyArray<{ name: string; component: string; points: number }>): ScoreResult {
  const raw = rt.components.map(() => 0);
  const sources: Array<{ name: string; comp: number; points: number }> = [];
  for (const name in state.signals) {
    const def = rt.signals.get(name);
    if (!def) continue;
    const points = state.signals[name]!.value;
    raw[def.componentIndex]! += points;
    sources.push({ name, comp: def.componentIndex, points });
  }
  for (const f of fit) {
    const c = rt.componentIndex.get(f.component)!;
    raw[c]! += f.points;
    sources.push({ name: `fit:${f.name}`, comp: c, points: f.points });
  }
  const components: Record<string, number> = {};
  const share: number[] = [];
  let exact = 0;
  rt.components.forEach((comp, c) => {
    const r = raw[c]!;
    const n = r <= 0 ? 0 : comp.normalize.type === 'linear' ? Math.min(100, (100 * r) / comp.normalize.max) : 100 * (1 - Math.exp(-r / comp.normalize.scale));
    components[comp.name] = Math.round(n * 100) / 100;
    share[c] = rt.totalWeight > 0 ? (comp.weight * n) / rt.totalWeight : 0;
    exact += share[c]!;
  });
  const scoreCents = Math.round(exact * 100);
  const value = sources.map((s) => (raw[s.comp]! > 0 ? (share[s.comp]! * s.points * 100) / raw[s.comp]! : 0));
  const cents = value.map((v) => Math.floor(v));
  let remaining = scoreCents - cents.reduce((a, b) => a + b, 0);
  if (remaining !== 0 && sources.length > 0) {
    const up = remaining > 0;
    const order = sources.map((_, i) => i).sort((a, b) => {
      const fa = value[a]! - cents[a]!;
      const fb = value[b]! - cents[b]!;
      return (up ? fb - fa : fa - fb) || a - b;
    });
    for (let k = 0; remaining !== 0; k = (k + 1) % order.length) {
      cents[order[k]!]! += up ? 1 : -1;
      remaining += up ? -1 : 1;
    }
  }
  const breakdown = { sources: {} as Record<string, number>, components: {} as Record<string, number> };
  const componentCents = rt.components.map(() => 0);
  sources.forEach((s, i) => {
    breakdown.sources[s.name] = cents[i]! / 100;
    componentCents[s.comp]! += cents[i]!;
  });
  rt.components.forEach((comp, c) => (breakdown.components[comp.name] = componentCents[c]! / 100));
  return { score: scoreCents / 100, components, breakdown };
}

const rt = buildRuntime(
  parseConfig({
    signals: {
      a: { points: 10, component: 'engagement' },
      b: { points: 20, component: 'engagement' },
      c: { points: 30, component: 'intent' },
      d: { points: 40, component: 'intent' },
      e: { points: 5, component: 'fit' },
    },
    scoring: {
      components: {
        engagement: { weight: 1, normalize: { type: 'linear', max: 50 } },
        intent: { weight: 3, normalize: { type: 'saturating', scale: 40 } },
        fit: { weight: 2, normalize: { type: 'linear', max: 20 } },
      },
    },
  }),
);

// A second runtime with fewer components and sources: the scratch arrays are shared by every
// runtime in the process, so calls of the two are interleaved below.
const small = buildRuntime(
  parseConfig({
    signals: { a: { points: 10, component: 'only' } },
    scoring: { components: { only: { weight: 1, normalize: { type: 'linear', max: 30 } } } },
  }),
);

const points = fc.oneof(fc.double({ min: -50, max: 500, noNaN: true }), fc.constantFrom(0, 1, 33.333, 100));
const state = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'removed'), { maxLength: 6 })
  .chain((names) => fc.tuple(...names.map(() => points)).map((values) => ({ signals: Object.fromEntries(names.map((n, i) => [n, { value: values[i]! }])) })));
const fit = fc.array(fc.record({ name: fc.constantFrom('size', 'region', 'plan'), component: fc.constantFrom('engagement', 'intent', 'fit'), points }), { maxLength: 3 });

describe('computeScore', () => {
  it('equals the plain reference on every call of a sequence, across two runtimes (scratch arrays left by earlier calls never leak in)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), state, fit), { minLength: 1, maxLength: 8 }), (calls) => {
        for (const [big, s, f] of calls) {
          const runtime = big ? rt : small;
          const fitted = big ? f : f.map((x) => ({ ...x, component: 'only' }));
          expect(computeScore(runtime, s, fitted)).toEqual(reference(runtime, s, fitted));
        }
      }),
      { numRuns: RUNS },
    );
  });
});
