/**
 * Typed events the engine emits (eventemitter3) after each commit. Listeners run after the state
 * is durable; an exception in a listener is logged and never undoes the commit.
 * @module
 */
import type { Effect, EventInput, LeadState, RouteRecord, StageTransition, StoredEvent } from './types.js';
import type { Issue } from './errors.js';

/** Payloads of the engine's events, by name. */
export interface LeadpipeEventMap {
  /** An event was stored (and scored when its type is a signal). */
  'event.tracked': { event: StoredEvent; leadIds: string[] };
  /** An event was not stored: invalid, or withheld for lack of consent. */
  'event.rejected': { event: Partial<EventInput>; code: 'EVENT_INVALID' | 'CONSENT_REQUIRED'; issues: Issue[] };
  /** An event id was seen before; nothing changed. */
  'event.duplicate': { eventId: string; tenantId: string };
  'lead.created': { lead: LeadState };
  'lead.scored': { lead: LeadState; previousScore: number; eventId: string };
  /** A qualification rule set a stage or tier. */
  'lead.qualified': { lead: LeadState; rule: string; stage: string; tier: string | null };
  'lead.stage_changed': { lead: LeadState; transition: StageTransition };
  'lead.routed': { lead: LeadState; route: RouteRecord };
  /** A delivery effect completed. */
  'lead.delivered': { effect: Effect };
  /** A delivery effect failed; `willRetry` says whether the outbox will try again. */
  'lead.delivery_failed': { effect: Effect; error: string; willRetry: boolean };
  /** An anonymous id was linked to a subject and its leads were merged. */
  'subject.identified': { tenantId: string; anonymousId: string; subjectId: string; leadIds: string[] };
}

/** Names of the engine's events. */
export type LeadpipeEventName = keyof LeadpipeEventMap;

/** A lifecycle event produced by a pipeline stage, emitted after commit. */
export type LifecycleEvent = { [K in LeadpipeEventName]: { type: K; payload: LeadpipeEventMap[K] } }[LeadpipeEventName];
