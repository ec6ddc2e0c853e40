/**
 * One pipeline step for one lead — score → qualify → route — and the fold of a lead's whole
 * history. Both are pure: the engine supplies the inputs (profile, counters) and commits the
 * outputs.
 * @module
 */
import type { LifecycleEvent } from '../events.js';
import type { Facts } from '../rules/types.js';
import type { LeadState, RouteRecord, StageTransition, StoredEvent } from '../types.js';
import type { QualifyResult } from './qualify.js';
import { qualify } from './qualify.js';
import type { RouteInput, RoutingDecision } from './route.js';
import { route, routingCause } from './route.js';
import type { Runtime } from './runtime.js';
import type { Contribution, EventFacts } from './score.js';
import { computeScore, eventFacts, fitPoints, scoreEvent } from './score.js';

/**
 * A lead as a step reads it: everything but `components` and `breakdown`, which every step
 * recomputes from the signals. The memory store's track path reads leads in this form (see
 * `LeadCodec.readPrior`); a full `LeadState` is one too.
 */
export type PriorLead = Omit<LeadState, 'components' | 'breakdown'>;

/** Inputs a step needs beyond the lead and the event. */
export interface StepContext {
  profile: Record<string, unknown> | undefined;
  /**
   * Owner loads and round-robin cursors, which a fold updates as it goes. The first change
   * replaces them with a copy (so a Map read from the store, or shared, is never written, and a
   * fold that changes none copies nothing: a copy per call was ~0.27 KB of each single `track()`,
   * sampled), unless `countersOwned` says they are the caller's own Map.
   */
  counters: ReadonlyMap<string, number>;
  /** True when `counters` is the caller's own Map, updated in place. @defaultValue false */
  countersOwned?: boolean;
  targetOwners?: readonly string[];
  /** Wall-clock time of processing, for `createdAt` / `updatedAt`. */
  now: number;
  /** Sticky owner choices a new lead starts with (kept across replays). */
  assignments?: Record<string, string[]>;
  /** Set to false when nobody listens, to skip building lifecycle events. @defaultValue true */
  lifecycle?: boolean;
  /**
   * An object the step may write its lead facts into instead of making one: the facts are read
   * only during the step (by the rules), so successive steps can share one (~0.2 KB less garbage
   * per event, measured). The engine's track path passes one per engine.
   */
  facts?: StepFacts;
}

/** A lead facts object that steps share, and whether a step is using it now. */
export interface StepFacts {
  facts: Facts;
  busy: boolean;
}

/** What one step did. */
export interface StepResult {
  lead: LeadState;
  contribution?: Contribution;
  qualification: QualifyResult;
  routing: RoutingDecision;
  lifecycle: LifecycleEvent[];
}

/** The id of the lead an event belongs to, or undefined when the event scores no lead. */
export function leadIdOf(rt: Runtime, event: Pick<StoredEvent, 'subjectRef' | 'targetId'>): string | undefined {
  if (!rt.leadKeyHasTarget) return event.subjectRef;
  // With targetId in the lead key, an event about no target (a search, a login) scores no lead.
  // `join` makes one flat string; a template literal makes a chain of cons strings that keeps its
  // parts alive (the event's subject id string among them) for as long as the lead id lives: ~60
  // bytes more per lead at a million leads, for ~25 ns more per call (both measured). The parts
  // go in one array reused by every call (a new one was ~65 bytes of garbage per event, sampled),
  // emptied again so that it keeps no id alive.
  if (event.targetId === undefined) return undefined;
  KEY_PARTS[0] = event.subjectRef;
  KEY_PARTS[1] = event.targetId;
  const id = KEY_PARTS.join('|');
  KEY_PARTS[0] = KEY_PARTS[1] = '';
  return id;
}
const KEY_PARTS: [string, string] = ['', ''];

/** True when event `a` sorts after the lead's cursor in (occurredAt, id) order. */
export function isAfter(a: { occurredAt: number; id: string }, cursor: { occurredAt: number; id: string }): boolean {
  return a.occurredAt > cursor.occurredAt || (a.occurredAt === cursor.occurredAt && a.id > cursor.id);
}

/** Canonical event order: by occurredAt, then id. */
export function compareEvents(a: { occurredAt: number; id: string }, b: { occurredAt: number; id: string }): number {
  return a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Empty values every new lead starts with, shared and frozen. Lead states are never mutated once
 * built (a step makes new arrays and objects), and most leads are never routed: one shared empty
 * value instead of three per lead saved ~130 bytes per lead at 1M leads.
 */
const NO_ROUTES: RouteRecord[] = Object.freeze([]) as unknown as RouteRecord[];
const NOTHING_DELIVERED: LeadState['delivered'] = Object.freeze([]) as unknown as LeadState['delivered'];
const NO_ASSIGNMENTS: Record<string, string[]> = Object.freeze({}) as Record<string, string[]>;
const NO_FIT: ReturnType<typeof fitPoints> = Object.freeze([]) as unknown as ReturnType<typeof fitPoints>;
const NO_LIFECYCLE: LifecycleEvent[] = Object.freeze([]) as unknown as LifecycleEvent[];
const EMPTY_NUMBERS: Record<string, number> = Object.freeze({}) as Record<string, number>;
const BEFORE_FIRST_EVENT: Pick<LeadState, 'components' | 'breakdown' | 'counts' | 'cursor' | 'scoring'> = Object.freeze({
  components: EMPTY_NUMBERS,
  breakdown: Object.freeze({ sources: EMPTY_NUMBERS, components: EMPTY_NUMBERS }),
  counts: EMPTY_NUMBERS,
  cursor: Object.freeze({ occurredAt: Number.NEGATIVE_INFINITY, id: '' }),
  scoring: Object.freeze({ signals: Object.freeze({}) }),
});

/**
 * What a lead is before its first event, for the step to build the first state from. The step
 * replaces its components, breakdown, counts, cursor and scoring with new objects and never
 * changes them, so those are shared frozen values (~0.25 KB less garbage per new lead, measured);
 * only the stage history, which the first state keeps, is the lead's own.
 */
function newLead(rt: Runtime, id: string, event: StoredEvent, now: number, assignments?: Record<string, string[]>): LeadState {
  const stage = rt.stages[0] as string;
  const { tenantId, subjectRef, occurredAt } = event;
  const version = 0;
  const score = 0;
  const { components, breakdown, counts, scoring } = BEFORE_FIRST_EVENT;
  const cursor = BEFORE_FIRST_EVENT.cursor;
  const tier = null;
  const stageHistory: StageTransition[] = [{ from: null, to: stage, at: occurredAt, cause: 'created', eventId: event.id }];
  const a = assignments ?? NO_ASSIGNMENTS;
  // Two literals rather than a conditional spread, in the key order the memory store reads leads
  // back in, so new and stored leads share one hidden class (a spread here made the pipeline step
  // see two).
  return rt.leadKeyHasTarget && event.targetId !== undefined
    ? { id, tenantId, subjectRef, targetId: event.targetId, version, score, components, breakdown, counts, firstSeenAt: occurredAt, lastSeenAt: occurredAt, cursor, stage, tier, stageHistory, routes: NO_ROUTES, delivered: NOTHING_DELIVERED, assignments: a, scoring, createdAt: now, updatedAt: now }
    : { id, tenantId, subjectRef, version, score, components, breakdown, counts, firstSeenAt: occurredAt, lastSeenAt: occurredAt, cursor, stage, tier, stageHistory, routes: NO_ROUTES, delivered: NOTHING_DELIVERED, assignments: a, scoring, createdAt: now, updatedAt: now };
}

/**
 * Lead facts for qualification and routing rules (see `LEAD_FACTS`), written into `into` when
 * given (every field, so nothing of an earlier lead is left) or into a new object.
 */
export function leadFacts(lead: LeadState, ef: EventFacts, into: Facts = {}): Facts {
  const signals: Record<string, number> = {};
  for (const name in lead.scoring.signals) signals[name] = lead.scoring.signals[name]?.value ?? 0;
  const f = into;
  f.score = lead.score;
  f.components = lead.components;
  f.counts = lead.counts;
  f.signals = signals;
  f.firstSeenAt = lead.firstSeenAt;
  f.lastSeenAt = lead.lastSeenAt;
  f.profile = ef.profile;
  f.stage = lead.stage;
  f.tier = lead.tier;
  f.tenantId = lead.tenantId;
  f.subjectId = lead.subjectRef;
  f.targetId = lead.targetId ?? ef.targetId;
  f.anonymous = ef.anonymous;
  f.event = ef.event;
  f.hour = ef.hour;
  f.weekday = ef.weekday;
  f.businessHours = ef.businessHours;
  return f;
}

/** Drops the references a shared facts object holds to a lead's data (keys kept, so its shape stays). */
function forgetFacts(f: Facts): void {
  f.components = undefined;
  f.counts = undefined;
  f.signals = undefined;
  f.profile = undefined;
  f.tenantId = undefined;
  f.subjectId = undefined;
  f.targetId = undefined;
  f.event = undefined;
}

/**
 * Folds one event into a lead (or creates the lead). The event must not sort before the lead's
 * cursor; the engine replays the lead instead (see {@link foldLead}).
 */
export function applyEvent(rt: Runtime, previous: PriorLead | undefined, event: StoredEvent, leadId: string, ctx: StepContext): StepResult {
  const signal = rt.signals.get(event.type);
  if (!signal) throw new Error(`leadpipe: applyEvent called with an event that is not a signal (${event.type})`);
  // Nobody listening (the usual hot path): one shared, frozen empty list instead of a new one per event.
  const lifecycle: LifecycleEvent[] = ctx.lifecycle === false ? NO_LIFECYCLE : [];
  const base = previous ?? newLead(rt, leadId, event, ctx.now, ctx.assignments);
  const t = event.occurredAt;
  const from = previous ? previous.lastSeenAt : t;

  // Score.
  const ef = eventFacts(rt, event, ctx.profile);
  const { state: scoring, contribution } = scoreEvent(rt, base.scoring, from, Math.max(from, t), signal, ef);
  const fit = rt.fit.length > 0 ? fitPoints(rt, ef as unknown as Facts) : NO_FIT;
  const scored = computeScore(rt, scoring, fit);
  const counts = { ...base.counts };
  counts[event.type] = (counts[event.type] ?? 0) + 1;
  // One new object per step, filled in below: it is not shared until returned, so setting its
  // fields keeps the step pure while avoiding a full copy per stage (measured: the copies were
  // a large share of the garbage collected per event). Every field is written out, in the order
  // `newLead` and the memory store use, rather than spread from `base`: the spread of a 21-field
  // object followed by nine overrides was ~12% of the pipeline's CPU time (profile of 300k tour
  // events). A step's lead has exactly the `LeadState` fields; anything else a store put on
  // `base` is not carried over.
  const firstSeenAt = Math.min(base.firstSeenAt, t);
  const lastSeenAt = Math.max(base.lastSeenAt, t);
  const cursor = { occurredAt: t, id: event.id };
  const { id, tenantId, subjectRef, targetId, version, stage, tier, stageHistory, routes, delivered, assignments, createdAt } = base;
  const { score, components, breakdown } = scored;
  const updatedAt = ctx.now;
  const lead: LeadState =
    targetId !== undefined
      ? { id, tenantId, subjectRef, targetId, version, score, components, breakdown, counts, firstSeenAt, lastSeenAt, cursor, stage, tier, stageHistory, routes, delivered, assignments, scoring, createdAt, updatedAt }
      : { id, tenantId, subjectRef, version, score, components, breakdown, counts, firstSeenAt, lastSeenAt, cursor, stage, tier, stageHistory, routes, delivered, assignments, scoring, createdAt, updatedAt };

  // Qualify and route. The shared facts object is taken only when no other step holds it (a
  // step started by code this one runs, such as a custom operator, makes its own), and it is
  // emptied of the lead's data when the step is done.
  const shared = ctx.facts !== undefined && !ctx.facts.busy ? ctx.facts : undefined;
  if (shared) shared.busy = true;
  try {
    return qualifyAndRoute(rt, previous, event, ctx, lead, leadFacts(lead, ef, shared?.facts), contribution, lifecycle);
  } finally {
    if (shared) {
      forgetFacts(shared.facts);
      shared.busy = false;
    }
  }
}

/** The rest of {@link applyEvent}: qualification, routing and lifecycle events for the scored `lead`. */
function qualifyAndRoute(rt: Runtime, previous: PriorLead | undefined, event: StoredEvent, ctx: StepContext, lead: LeadState, facts: Facts, contribution: Contribution, lifecycle: LifecycleEvent[]): StepResult {
  const t = event.occurredAt;
  const qualification = qualify(rt, lead, facts, t, event.id);
  if (qualification.transition) lead.stageHistory = [...lead.stageHistory, qualification.transition];
  lead.stage = qualification.stage;
  lead.tier = qualification.tier;
  facts.stage = lead.stage;
  facts.tier = lead.tier;

  // Route.
  const input: RouteInput = { lead, facts, at: t, eventId: event.id, counters: ctx.counters };
  if (ctx.targetOwners) input.targetOwners = ctx.targetOwners;
  const routing = route(rt, input);
  if (routing.counters.length > 0) {
    if (!ctx.countersOwned) {
      ctx.counters = new Map(ctx.counters);
      ctx.countersOwned = true;
    }
    const counters = ctx.counters as Map<string, number>;
    for (let k = 0; k < routing.counters.length; k++) {
      const c = routing.counters[k] as RoutingDecision['counters'][number];
      counters.set(c.key, (counters.get(c.key) ?? 0) + c.delta);
    }
  }
  let routedTransition: StageTransition | undefined;
  if (routing.routes.length > 0) {
    const routedStage = rt.routing?.stage;
    if (routedStage && routedStage !== lead.stage && (rt.stageIndex.get(routedStage) ?? 0) > (rt.stageIndex.get(lead.stage) ?? 0)) {
      // The cause string made once per rule (see `Runtime.routing.causes`), not joined per routed event.
      const rule = routing.rule as string;
      routedTransition = { from: lead.stage, to: routedStage, at: t, cause: rt.routing?.causes.get(rule) ?? routingCause(rule), eventId: event.id };
      lead.stageHistory = [...lead.stageHistory, routedTransition];
      lead.stage = routedStage;
    }
    lead.routes = [...lead.routes, ...routing.routes];
    if (routing.assignments) lead.assignments = { ...lead.assignments, ...routing.assignments };
  }

  // Lifecycle events, each carrying the final lead of this step.
  if (ctx.lifecycle !== false) {
    if (!previous) lifecycle.push({ type: 'lead.created', payload: { lead } });
    lifecycle.push({ type: 'lead.scored', payload: { lead, previousScore: previous?.score ?? 0, eventId: event.id } });
    if (qualification.transition) lifecycle.push({ type: 'lead.stage_changed', payload: { lead, transition: qualification.transition } });
    const qualifyingRule = qualification.transition?.cause ?? (qualification.tier !== (previous?.tier ?? null) ? qualification.tierCause : null);
    if (qualifyingRule && qualifyingRule !== 'score') {
      lifecycle.push({ type: 'lead.qualified', payload: { lead, rule: qualifyingRule, stage: lead.stage, tier: lead.tier } });
    }
    if (routedTransition) lifecycle.push({ type: 'lead.stage_changed', payload: { lead, transition: routedTransition } });
    for (const r of routing.routes) lifecycle.push({ type: 'lead.routed', payload: { lead, route: r } });
  }
  return { lead, contribution, qualification, routing, lifecycle };
}

/** Options for {@link foldLead}. */
export interface FoldOptions {
  /** Stage changes the host made (through `setStage`), replayed at their times. */
  hostTransitions?: readonly StageTransition[];
  createdAt?: number;
}

/**
 * Replays a lead's whole history in canonical (occurredAt, id) order. Used when an event arrives
 * out of order and after identity merges: the result is, by construction, the state an in-order
 * replay would give.
 */
export function foldLead(rt: Runtime, leadId: string, events: readonly StoredEvent[], ctx: StepContext, options: FoldOptions = {}): { lead: LeadState | undefined; steps: StepResult[] } {
  const sorted = [...events].filter((e) => rt.signals.has(e.type)).sort(compareEvents);
  const host = [...(options.hostTransitions ?? [])].sort((a, b) => a.at - b.at);
  let h = 0;
  let lead: LeadState | undefined;
  const steps: StepResult[] = [];
  for (const event of sorted) {
    if (lead) {
      while (h < host.length && (host[h] as StageTransition).at <= event.occurredAt) lead = applyHostTransition(rt, lead, host[h++] as StageTransition);
    }
    const step = applyEvent(rt, lead, event, leadId, ctx);
    lead = step.lead;
    steps.push(step);
  }
  if (lead) {
    while (h < host.length) lead = applyHostTransition(rt, lead, host[h++] as StageTransition);
    if (options.createdAt !== undefined) lead = { ...lead, createdAt: options.createdAt };
  }
  return { lead, steps };
}

/** Applies a stage change made by the host app (any direction). */
export function applyHostTransition(_rt: Runtime, lead: LeadState, transition: StageTransition): LeadState {
  if (lead.stage === transition.to) return { ...lead, stageHistory: [...lead.stageHistory, { ...transition, from: lead.stage }] };
  return { ...lead, stage: transition.to, stageHistory: [...lead.stageHistory, { ...transition, from: lead.stage }] };
}
