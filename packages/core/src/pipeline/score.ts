/**
 * The score stage: fold one event into a lead's signal values, then derive components, the
 * 0–100 score and an exact breakdown. Pure: (runtime, state, event, profile) → new state.
 *
 * Order independence: the engine always folds a lead's events in (occurredAt, id) order (an
 * event that arrives late makes it replay the lead), so decay, caps and diminishing returns are
 * evaluated in one canonical order and every floating-point operation happens in the same
 * sequence, whatever order the events arrived in.
 * @module
 */
import type { ScoreBreakdown, ScoringState, SignalState, StoredEvent } from '../types.js';
import type { Runtime, SignalRuntime } from './runtime.js';

/** Facts describing the event being scored, for modifiers (see `EVENT_FACTS`). */
export interface EventFacts {
  event: { type: string; channel?: string; properties: Record<string, unknown>; context: Record<string, unknown>; occurredAt: number; targetId?: string };
  profile: Record<string, unknown>;
  hour: number;
  weekday: string;
  businessHours: boolean;
  tenantId: string;
  subjectId: string;
  targetId?: string;
  anonymous: boolean;
}

/** Builds the event facts for an event. */
export function eventFacts(rt: Runtime, event: StoredEvent, profile: Record<string, unknown> | undefined): EventFacts {
  const t = event.occurredAt;
  const { type, properties, context, channel, targetId } = event;
  // No conditional spreads (each `...(x ? {…} : {})` allocates a throw-away object) and, for the
  // usual event (about a target, no channel), no field added after the literal (a field added
  // later allocates a separate property store): ~90 bytes less per batched event, measured.
  let e: EventFacts['event'];
  if (channel === undefined) e = targetId === undefined ? { type, properties, context, occurredAt: t } : { type, properties, context, occurredAt: t, targetId };
  else {
    e = { type, properties, context, occurredAt: t, channel };
    if (targetId !== undefined) e.targetId = targetId;
  }
  const hour = rt.local.hour(t);
  const weekday = rt.local.weekday(t);
  const businessHours = rt.local.inWindows(t, rt.businessHours);
  const p = profile ?? EMPTY_PROFILE;
  const { tenantId, subjectRef: subjectId } = event;
  const anonymous = event.subjectId === undefined;
  return targetId === undefined
    ? { event: e, profile: p, hour, weekday, businessHours, tenantId, subjectId, anonymous }
    : { event: e, profile: p, hour, weekday, businessHours, tenantId, subjectId, anonymous, targetId };
}
const EMPTY_PROFILE: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** What one event contributed, for explanations. */
export interface Contribution {
  signal: string;
  base: number;
  /** Names of the modifiers that applied. */
  modifiers: string[];
  /** Rank of the event in its cap bucket (0 = first). */
  rank: number;
  capped: boolean;
  points: number;
}

/** Points an event scores before decay: base, modifiers, cap and diminishing returns. */
export function eventPoints(signal: SignalRuntime, facts: EventFacts, rank: number): Contribution {
  let add = 0;
  let multiply = 1;
  const applied: string[] = signal.modifiers.length > 0 ? [] : NO_MODIFIERS;
  for (const m of signal.modifiers) {
    const d = m.def;
    if (d.hours) {
      const [from, to] = d.hours;
      const inside = from <= to ? facts.hour >= from && facts.hour < to : facts.hour >= from || facts.hour < to;
      if (!inside) continue;
    }
    if (d.weekdays && !d.weekdays.includes(facts.weekday as never)) continue;
    if (d.businessHours !== undefined && d.businessHours !== facts.businessHours) continue;
    if (m.condition && !m.condition.test(facts as unknown as Record<string, unknown>)) continue;
    add += d.add ?? 0;
    multiply *= d.multiply ?? 1;
    applied.push(d.name);
  }
  const capped = rank >= signal.capMax;
  const points = capped ? 0 : (signal.def.points + add) * multiply * signal.diminishing ** rank;
  return { signal: signal.name, base: signal.def.points, modifiers: applied, rank, capped, points };
}

/** Shared by contributions of signals without modifiers (never written to). */
const NO_MODIFIERS: string[] = Object.freeze([]) as unknown as string[];

/** Decays every signal value from `from` to `to` (`to >= from`), dropping window entries that expired. */
export function advance(rt: Runtime, state: ScoringState, from: number, to: number): ScoringState {
  if (to === from) return state;
  // Signals with neither half-life nor window do not change with time; when no signal of the lead
  // decays, the state is returned as is (no copy per event for configs without decay).
  let signals: Record<string, SignalState> | undefined;
  for (const name in state.signals) {
    const s = state.signals[name] as SignalState;
    const def = rt.signals.get(name);
    const next = def ? advanceSignal(def, s, to, to - from) : undefined;
    if (next === s && !signals) continue;
    if (!signals) {
      signals = {};
      // Copy the signals already passed over unchanged.
      for (const earlier in state.signals) {
        if (earlier === name) break;
        if (rt.signals.has(earlier)) signals[earlier] = state.signals[earlier] as SignalState;
      }
    }
    if (next) signals[name] = next; // a signal removed from the config stops counting
  }
  return signals ? { signals } : state;
}

function advanceSignal(def: SignalRuntime, s: SignalState, to: number, elapsed: number): SignalState {
  if (def.windowMs !== undefined && s.window) {
    const kept = s.window.filter(([t]) => to - t < (def.windowMs as number));
    return signalState(windowValue(def, kept, to), kept, s.bucket, s.inBucket);
  }
  if (def.halfLifeMs !== undefined) return signalState(s.value * 2 ** (-elapsed / def.halfLifeMs), s.window, s.bucket, s.inBucket);
  return s;
}

/**
 * A signal state, its fields added in one order wherever a state is made (a decay here, an event in
 * `addToSignal`), each only when defined, so that every state has one of a few shapes. A decay used
 * to copy the state with a spread (`{ ...s, value }`): a generic object clone, because the states'
 * shapes vary (with or without a calendar bucket or a window, made by a step or read back by a
 * store): that line was 6.2% of a line-level CPU
 * profile of the step alone (400k tour events, leads kept as objects in a Map), 1.4% after.
 * Measured over 400k tour events, alternating runs: the step alone 9.27 → 7.87 µs per event (means
 * of eight, lower in seven), the pipeline in chunks of 1,000 17.5 → 16.2 µs (four each, never
 * higher). A decayed state keeps only `SignalState`'s four fields, each when it is defined (the
 * spread also copied any other key, and keys set to undefined), as a step keeps only a lead's
 * `LeadState` fields.
 */
function signalState(value: number, window: SignalState['window'], bucket: string | undefined, inBucket: number | undefined): SignalState {
  const state: SignalState = { value };
  if (window !== undefined) state.window = window;
  if (bucket !== undefined) state.bucket = bucket;
  if (inBucket !== undefined) state.inBucket = inBucket;
  return state;
}

function windowValue(def: SignalRuntime, entries: Array<[number, number]>, at: number): number {
  let value = 0;
  for (const [t, p] of entries) value += def.halfLifeMs === undefined ? p : p * 2 ** (-(at - t) / def.halfLifeMs);
  return value;
}

/**
 * Decays the lead's signals from `from` to the event's time `to` and adds the event to its
 * signal, in one pass: the same arithmetic as {@link advance} followed by adding the points, but
 * one new signals object per event instead of three (decay, add, and their wrappers).
 */
export function scoreEvent(rt: Runtime, state: ScoringState, from: number, to: number, signal: SignalRuntime, facts: EventFacts): { state: ScoringState; contribution: Contribution } {
  const elapsed = to - from;
  const signals: Record<string, SignalState> = {};
  let prev: SignalState | undefined;
  for (const name in state.signals) {
    const s = state.signals[name] as SignalState;
    const def = rt.signals.get(name);
    if (!def) continue; // a signal removed from the config stops counting
    const decayed = elapsed > 0 ? advanceSignal(def, s, to, elapsed) : s;
    // Written in the state's key order, so the breakdown lists sources in the order they first scored.
    signals[name] = decayed;
    if (name === signal.name) prev = decayed;
  }
  const next = addToSignal(rt, prev ?? ZERO_SIGNAL, signal, facts);
  signals[signal.name] = next.state;
  return { state: { signals }, contribution: next.contribution };
}
const ZERO_SIGNAL: SignalState = Object.freeze({ value: 0 });

/** Adds one event (already at the signal's time) to a signal's state. */
function addToSignal(rt: Runtime, prev: SignalState, signal: SignalRuntime, facts: EventFacts): { state: SignalState; contribution: Contribution } {
  const t = facts.event.occurredAt;
  let rank = 0;
  let bucket: string | undefined;
  if (signal.bucketPer) {
    bucket = rt.local.bucket(t, signal.bucketPer);
    rank = prev.bucket === bucket ? (prev.inBucket ?? 0) : 0;
  }
  const contribution = eventPoints(signal, facts, rank);
  const inBucket = bucket !== undefined ? rank + 1 : undefined;
  if (signal.windowMs !== undefined) {
    const window: Array<[number, number]> = [...(prev.window ?? []), [t, contribution.points]];
    return { state: signalState(windowValue(signal, window, t), window, bucket, inBucket), contribution };
  }
  return { state: signalState(prev.value + contribution.points, undefined, bucket, inBucket), contribution };
}

/** Fit points by rule, from the profile. */
export function fitPoints(rt: Runtime, facts: Record<string, unknown>): Array<{ name: string; component: string; points: number }> {
  const out: Array<{ name: string; component: string; points: number }> = [];
  for (const f of rt.fit) if (f.condition.test(facts)) out.push({ name: f.name, component: f.component, points: f.points });
  return out;
}

/** Result of {@link computeScore}. */
export interface ScoreResult {
  score: number;
  components: Record<string, number>;
  breakdown: ScoreBreakdown;
}

/**
 * Normalises component points to 0–100, combines components by weight and splits the result
 * into an exact breakdown.
 *
 * - Component score: `linear`: min(100, 100·raw/max); `saturating`: 100·(1 − e^(−raw/scale));
 *   raw ≤ 0 gives 0.
 * - Score: Σ weight·component / Σ weight, rounded to two decimals.
 * - Breakdown: each component's share of the score is split among its sources in proportion to
 *   their raw points; shares are rounded to hundredths by the largest-remainder method, so the
 *   parts add up exactly to the score.
 */
export function computeScore(rt: Runtime, state: ScoringState, fit: ReadonlyArray<{ name: string; component: string; points: number }>): ScoreResult {
  // Plain arrays indexed by component position instead of Maps and per-source objects, and the
  // working arrays are module-level scratch reused by every call (this function is synchronous
  // and never re-entered): it runs once per event, and its nine working arrays were the largest
  // allocation of the score stage. The scratch arrays are written by index up to `count` and their
  // `length` is never set: `length = 0` drops an array's backing store, so each call allocated
  // three new ones (~450 bytes of garbage per event, measured).
  const comps = rt.components;
  const raw = scratch.raw;
  for (let c = 0; c < comps.length; c++) raw[c] = 0;
  const sourceNames = scratch.names;
  const sourceComp = scratch.comp;
  const sourcePoints = scratch.points;
  let count = 0;
  for (const name in state.signals) {
    const def = rt.signals.get(name);
    if (!def) continue;
    const points = (state.signals[name] as SignalState).value;
    raw[def.componentIndex] = (raw[def.componentIndex] as number) + points;
    sourceNames[count] = name;
    sourceComp[count] = def.componentIndex;
    sourcePoints[count] = points;
    count++;
  }
  // Indexed: `fit` is usually a shared frozen empty array (for-of would allocate an iterator).
  for (let i = 0; i < fit.length; i++) {
    const f = fit[i] as (typeof fit)[number];
    const c = rt.componentIndex.get(f.component) as number;
    raw[c] = (raw[c] as number) + f.points;
    sourceNames[count] = `fit:${f.name}`;
    sourceComp[count] = c;
    sourcePoints[count] = f.points;
    count++;
  }

  const components: Record<string, number> = {};
  const share = scratch.share;
  let exact = 0;
  for (let c = 0; c < comps.length; c++) {
    const comp = comps[c] as Runtime['components'][number];
    const n = normalize(raw[c] as number, comp.normalize);
    components[comp.name] = round2(n);
    const sc = rt.totalWeight > 0 ? (comp.weight * n) / rt.totalWeight : 0;
    share[c] = sc;
    exact += sc;
  }
  const scoreCents = Math.round(exact * 100);

  // Exact shares per source, then largest-remainder rounding to cents summing to scoreCents.
  const value = scratch.value;
  const cents = scratch.cents;
  let remaining = scoreCents;
  for (let i = 0; i < count; i++) {
    const c = sourceComp[i] as number;
    const r = raw[c] as number;
    const v = r > 0 ? ((share[c] as number) * (sourcePoints[i] as number) * 100) / r : 0;
    value[i] = v;
    cents[i] = Math.floor(v);
    remaining -= cents[i] as number;
  }
  if (remaining !== 0 && count > 0) {
    // Sources by remainder (largest first when cents are missing, smallest first when there are
    // too many), ties by position: an insertion sort into a reused array, since a lead has a few
    // sources (the sort's array and comparator were ~160 bytes of garbage per event).
    const order = scratch.order;
    const up = remaining > 0;
    for (let i = 0; i < count; i++) {
      const fi = (value[i] as number) - (cents[i] as number);
      let j = i;
      while (j > 0) {
        const k = order[j - 1] as number;
        const fk = (value[k] as number) - (cents[k] as number);
        if (!(up ? fi > fk : fi < fk)) break;
        order[j] = order[j - 1] as number;
        j--;
      }
      order[j] = i;
    }
    const step = remaining > 0 ? 1 : -1;
    for (let k = 0; remaining !== 0; k = (k + 1) % count) {
      const i = order[k] as number;
      cents[i] = (cents[i] as number) + step;
      remaining -= step;
    }
  }
  const breakdown: ScoreBreakdown = { sources: {}, components: {} };
  const componentCents = scratch.componentCents;
  for (let c = 0; c < comps.length; c++) componentCents[c] = 0;
  for (let i = 0; i < count; i++) {
    breakdown.sources[sourceNames[i] as string] = (cents[i] as number) / 100;
    const c = sourceComp[i] as number;
    componentCents[c] = (componentCents[c] as number) + (cents[i] as number);
  }
  for (let c = 0; c < comps.length; c++) breakdown.components[(comps[c] as Runtime['components'][number]).name] = (componentCents[c] as number) / 100;
  return { score: scoreCents / 100, components, breakdown };
}

/** Working arrays of {@link computeScore}, reused from call to call. */
const scratch = { raw: [] as number[], names: [] as string[], comp: [] as number[], points: [] as number[], share: [] as number[], value: [] as number[], cents: [] as number[], componentCents: [] as number[], order: [] as number[] };

function normalize(raw: number, n: Runtime['components'][number]['normalize']): number {
  if (raw <= 0) return 0;
  return n.type === 'linear' ? Math.min(100, (100 * raw) / n.max) : 100 * (1 - Math.exp(-raw / n.scale));
}

/** Rounds to two decimals. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
