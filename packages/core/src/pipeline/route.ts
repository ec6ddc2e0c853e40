/**
 * The route stage: choose owners for a lead. Pure: owner loads and round-robin cursors come in
 * as a snapshot and go out as counter increments, committed with the lead.
 *
 * A routing rule names candidates (owner ids, the owners of the lead's target, and/or a `where`
 * condition on the `owner` fact) and a pick (`all` fans out; `round-robin`, `least-loaded` and
 * `first` choose one). Unavailable owners (inactive, outside their availability windows, at
 * capacity) are skipped. The first rule, by priority, that yields an available owner decides;
 * when none does, `routing.fallback` is tried. "No route" is a result, not an error.
 * @module
 */
import type { Facts } from '../rules/types.js';
import type { LeadState, RouteRecord } from '../types.js';
import type { OwnerRuntime, Runtime, TargetRuntime } from './runtime.js';

/** Why a candidate owner was not chosen. */
export type SkipReason = 'inactive' | 'unavailable' | 'at-capacity' | 'deduped' | 'not-matched';

/** The routing outcome of one step. */
export interface RoutingDecision {
  status: 'routed' | 'deduped' | 'below-threshold' | 'closed' | 'no-route' | 'not-configured';
  /** The rule that decided (or `fallback`). */
  rule?: string;
  routes: RouteRecord[];
  skipped: Array<{ ownerId: string; reason: SkipReason; rule: string }>;
  /** Counter increments: `load:<owner>` for newly opened leads, `rr:<rule>` for round-robin cursors. */
  counters: Array<{ key: string; delta: number }>;
  /** Sticky choices to remember on the lead, by rule name. */
  assignments?: Record<string, string[]>;
  sink?: string;
}

/** Counter key of an owner's open-lead count. */
export const loadKey = (ownerId: string) => `load:${ownerId}`;
/** Counter key of a round-robin rule's cursor. */
export const cursorKey = (rule: string) => `rr:${rule}`;
/** The `cause` of the stage change `routing.stage` makes when rule `rule` routes a lead. */
export const routingCause = (rule: string) => `routing:${rule}`;

/** Input to {@link route}. */
export interface RouteInput {
  lead: LeadState;
  facts: Facts;
  at: number;
  eventId: string;
  counters: ReadonlyMap<string, number>;
  /** Owners of the lead's target from a host directory; the config's `targets` are used when absent. */
  targetOwners?: readonly string[];
}

/**
 * The decisions that route nobody and skip nobody, one shared frozen object each: most events
 * end below the threshold, and five objects per event for that answer were garbage the caller
 * mostly never reads (a {@link TrackResult} keeps its decision, so a batch kept them all alive).
 */
const NOTHING = Object.freeze([]) as unknown as never[];
const unrouted = (status: RoutingDecision['status']): RoutingDecision => Object.freeze({ status, routes: NOTHING, skipped: NOTHING, counters: NOTHING });
const NOT_CONFIGURED = unrouted('not-configured');
const CLOSED = unrouted('closed');
const BELOW_THRESHOLD = unrouted('below-threshold');

/** Decides where a lead goes at time `at`. The decision is read-only (some are shared and frozen). */
export function route(rt: Runtime, input: RouteInput): RoutingDecision {
  const routing = rt.routing;
  if (!routing) return NOT_CONFIGURED;
  const { lead } = input;
  if (routing.closedStages.has(lead.stage)) return CLOSED;
  if (lead.score < routing.minScore) return BELOW_THRESHOLD;

  // Rule by rule: a rule's condition is evaluated only when no earlier rule found an available
  // owner (listing the matching rules first made an array, and an object per matching rule, per
  // event above the threshold). The built-in operators are pure, so the decision is the same; a
  // custom operator is no longer called for the rules after the deciding one, so one that throws
  // there no longer fails the call (docs/config.md, routing).
  const skipped: RoutingDecision['skipped'] = [];
  for (const rule of routing.rules) {
    if (rule.condition && !rule.condition.test(input.facts)) continue;
    const candidates = candidatesOf(rt, rule.target, input, rule.name, skipped);
    if (candidates.length > 0) return choose(rt, rule.name, rule.target, candidates, input, skipped);
  }
  if (routing.fallback) {
    const candidates = candidatesOf(rt, routing.fallback, input, 'fallback', skipped);
    if (candidates.length > 0) return choose(rt, 'fallback', routing.fallback, candidates, input, skipped);
  }
  return { status: 'no-route', routes: [], skipped, counters: [] };
}

function candidatesOf(rt: Runtime, target: TargetRuntime, input: RouteInput, rule: string, skipped: RoutingDecision['skipped']): OwnerRuntime[] {
  const routing = rt.routing as NonNullable<Runtime['routing']>;
  let ids: readonly string[];
  const named = target.def.owners;
  if (named === 'target') {
    const targetId = input.lead.targetId ?? (input.facts.event as { targetId?: string } | undefined)?.targetId;
    ids = input.targetOwners ?? (targetId !== undefined ? (routing.ownersByTarget.get(targetId) ?? []) : []);
  } else {
    ids = named ?? [...routing.owners.keys()];
  }
  const out: OwnerRuntime[] = [];
  for (const id of ids) {
    const owner = routing.owners.get(id);
    if (!owner) continue;
    if (target.where && !target.where.test({ ...input.facts, owner: { id: owner.id, name: owner.name, ...owner.attributes, attributes: owner.attributes } })) {
      continue;
    }
    const reason = unavailable(owner, input);
    if (reason) skipped.push({ ownerId: id, reason, rule });
    else out.push(owner);
  }
  return out;
}

function unavailable(owner: OwnerRuntime, input: RouteInput): SkipReason | undefined {
  if (!owner.active) return 'inactive';
  if (owner.windows && !owner.local.inWindows(input.at, owner.windows)) return 'unavailable';
  if (owner.capacity !== undefined && !hasOpenRoute(input.lead, owner.id)) {
    if ((input.counters.get(owner.loadKey) ?? 0) >= owner.capacity) return 'at-capacity';
  }
  return undefined;
}

// The scans of a lead's routes below are plain indexed loops: `some` with an arrow allocated a
// closure per call, and the routes are usually a shared frozen array, which a for-of loop would
// allocate an iterator for.
function hasOpenRoute(lead: LeadState, ownerId: string): boolean {
  const routes = lead.routes;
  for (let i = 0; i < routes.length; i++) if ((routes[i] as RouteRecord).ownerId === ownerId) return true;
  return false;
}

/** True when `ownerId` was routed this lead within the dedupe window before `at`. */
function routedRecently(lead: LeadState, ownerId: string, at: number, windowMs: number): boolean {
  const routes = lead.routes;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i] as RouteRecord;
    if (r.ownerId === ownerId && at - r.at < windowMs && at >= r.at) return true;
  }
  return false;
}

function choose(rt: Runtime, rule: string, target: TargetRuntime, candidates: OwnerRuntime[], input: RouteInput, skipped: RoutingDecision['skipped']): RoutingDecision {
  const routing = rt.routing as NonNullable<Runtime['routing']>;
  const { lead } = input;
  const pick = target.def.pick;
  const counters: RoutingDecision['counters'] = [];
  let chosen: OwnerRuntime[];
  let assignments: Record<string, string[]> | undefined;

  if (pick === 'all') chosen = candidates;
  else if (pick === 'first') chosen = candidates.slice(0, 1);
  else {
    // Sticky: a lead assigned by round-robin or least-loaded keeps its owner while available.
    const previous = lead.assignments[rule]?.[0];
    const kept = previous !== undefined ? candidates.find((c) => c.id === previous) : undefined;
    if (kept) chosen = [kept];
    else if (pick === 'round-robin') {
      const cursor = input.counters.get(cursorKey(rule)) ?? 0;
      chosen = [candidates[cursor % candidates.length] as OwnerRuntime];
      counters.push({ key: cursorKey(rule), delta: 1 });
    } else {
      chosen = [leastLoaded(candidates, input.counters)];
    }
    assignments = { [rule]: [(chosen[0] as OwnerRuntime).id] };
  }

  const routes: RouteRecord[] = [];
  for (const owner of chosen) {
    if (routedRecently(lead, owner.id, input.at, routing.dedupeWindowMs)) {
      skipped.push({ ownerId: owner.id, reason: 'deduped', rule });
      continue;
    }
    if (!hasOpenRoute(lead, owner.id)) counters.push({ key: owner.loadKey, delta: 1 });
    routes.push({ ownerId: owner.id, at: input.at, rule, pick, eventId: input.eventId });
  }
  const status = routes.length > 0 ? 'routed' : 'deduped';
  // Two literals, not a conditional spread (which allocates a throw-away object).
  return assignments ? { status, rule, routes, skipped, counters, sink: target.def.sink, assignments } : { status, rule, routes, skipped, counters, sink: target.def.sink };
}

function leastLoaded(candidates: OwnerRuntime[], counters: ReadonlyMap<string, number>): OwnerRuntime {
  let best = candidates[0] as OwnerRuntime;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const load = counters.get(c.loadKey) ?? 0;
    // Relative to capacity when there is one, so a big team member gets proportionally more.
    const relative = c.capacity ? load / c.capacity : load;
    if (relative < bestLoad) {
      best = c;
      bestLoad = relative;
    }
  }
  return best;
}
