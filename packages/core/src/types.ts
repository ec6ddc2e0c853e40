/**
 * The vocabulary of leadpipe as TypeScript types: events in, lead states and effects out.
 * Times are epoch milliseconds (numbers) everywhere inside the engine; ISO strings are accepted
 * at the boundary and converted once.
 * @module
 */

/** The tenant used when an event or call names none. */
export const DEFAULT_TENANT = 'default';

/** An interaction as the host app sends it to {@link Engine.track}. */
export interface EventInput {
  /** Unique per tenant; makes tracking idempotent (a second event with this id is a duplicate). */
  id: string;
  tenantId?: string;
  /** The event type; events whose type is a configured signal are scored. */
  type: string;
  /** The known person. One of `subjectId` and `anonymousId` is required. */
  subjectId?: string;
  /** A device or session id, for a person not yet identified. */
  anonymousId?: string;
  /** What the interaction was about (a tour, a product, a listing). */
  targetId?: string;
  channel?: string;
  /** When it happened: ISO-8601 string with an offset, or epoch milliseconds. */
  occurredAt: string | number;
  properties?: Record<string, unknown>;
  context?: EventContext;
}

/** Where an event came from and under which consent. */
export interface EventContext {
  /** Consent purposes granted with this event, e.g. `{ "marketing": true }`. */
  consent?: Record<string, boolean>;
  [key: string]: unknown;
}

/** An event after validation, as stored: tenant resolved, time as epoch ms, identity resolved. */
export interface StoredEvent {
  id: string;
  tenantId: string;
  type: string;
  /** The person the event belongs to now: a subject id, or `anon:<anonymousId>` while anonymous. */
  subjectRef: string;
  subjectId?: string;
  anonymousId?: string;
  targetId?: string;
  channel?: string;
  occurredAt: number;
  properties: Record<string, unknown>;
  context: EventContext;
  /** When leadpipe received it (epoch ms). */
  receivedAt: number;
}

/** The key fields of a lead, as configured by `leadKey`. */
export interface LeadKey {
  tenantId: string;
  /** Subject id, or `anon:<anonymousId>` for a lead that is still anonymous. */
  subjectRef: string;
  targetId?: string;
}

/** One recorded stage change and what caused it. */
export interface StageTransition {
  from: string | null;
  to: string;
  at: number;
  /** The qualification rule, `routing`, or `host` (set through {@link Engine.setStage}). */
  cause: string;
  eventId?: string;
}

/** One routing decision: the lead went to an owner. */
export interface RouteRecord {
  ownerId: string;
  at: number;
  /** The routing rule that chose the owner, or `fallback`. */
  rule: string;
  pick: RoutePick;
  eventId: string;
}

/** How a routing rule chooses among its candidate owners. */
export type RoutePick = 'all' | 'round-robin' | 'least-loaded' | 'first';

/** The score of a lead, split so that the parts add up exactly to `score`. */
export interface ScoreBreakdown {
  /** Points of the final score by source: a signal name, or `fit:<rule>` for profile fit rules. */
  sources: Record<string, number>;
  /** Points of the final score by component. */
  components: Record<string, number>;
}

/**
 * Incremental scoring state kept with a lead: enough to add the next in-order event without
 * re-reading history. Opaque to host code; its shape may change between minor versions.
 */
export interface ScoringState {
  /** Per signal: decayed value as of `asOf`, the current cap bucket and how many events it holds. */
  signals: Record<string, SignalState>;
}

/** @internal */
export interface SignalState {
  /** Value of this signal's contributions, decayed to the lead's `lastSeenAt`. */
  value: number;
  /** Contributions still inside a configured window: [occurredAt, points] pairs, oldest first. */
  window?: Array<[number, number]>;
  /** Calendar bucket key of the last counted event, for caps and diminishing returns. */
  bucket?: string;
  /** Events already counted in `bucket`. */
  inBucket?: number;
}

/** A lead: what is scored, qualified and routed. */
export interface LeadState {
  /** Stable id derived from the key: `<subjectRef>` or `<subjectRef>|<targetId>`. */
  id: string;
  tenantId: string;
  subjectRef: string;
  targetId?: string;
  /** Incremented by every commit; used for optimistic concurrency. */
  version: number;
  /** 0–100, two decimals, as of `lastSeenAt`. */
  score: number;
  /** Normalised component scores (0–100 each), as of `lastSeenAt`. */
  components: Record<string, number>;
  breakdown: ScoreBreakdown;
  /** Events seen per signal (including those a cap kept from scoring). */
  counts: Record<string, number>;
  firstSeenAt: number;
  lastSeenAt: number;
  /** The newest event folded in, by (occurredAt, id): events after it are applied incrementally. */
  cursor: { occurredAt: number; id: string };
  stage: string;
  tier: string | null;
  stageHistory: StageTransition[];
  routes: RouteRecord[];
  /**
   * Deliveries actually put in the outbox: owner and route time. Usually the same as `routes`;
   * they differ only after a late event moved a routing decision, when the owner already had the
   * lead within the dedupe window and was not sent it again. Unlike every other field, this record
   * depends on the order events arrived in, because it records what was done.
   */
  delivered: Array<{ ownerId: string; at: number }>;
  /** Sticky owner choices of round-robin / least-loaded rules, by rule name. */
  assignments: Record<string, string[]>;
  scoring: ScoringState;
  createdAt: number;
  updatedAt: number;
}

/** Something to be done outside the engine, committed with the state change (outbox). */
export type Effect = DeliveryEffect | NotificationEffect;

/** Fields every outbox entry has. */
export interface EffectBase {
  /** Unique id; also the idempotency key handed to sinks and channels. */
  id: string;
  tenantId: string;
  leadId: string;
  createdAt: number;
}

/** Hand a routed lead to a sink (CRM, lead database, webhook) for an owner. */
export interface DeliveryEffect extends EffectBase {
  kind: 'delivery';
  ownerId: string;
  /** The time of the routing decision (the event's `occurredAt`). */
  routedAt: number;
  /** Name of the sink; `default` unless the routing rule names one. */
  sink: string;
  payload: LeadSnapshot;
}

/** Message an owner through a channel. Planned by the notification stage (a later release fills this in). */
export interface NotificationEffect extends EffectBase {
  kind: 'notification';
  ownerId: string;
  channel: string;
  template: string;
  payload: LeadSnapshot;
}

/** The part of a lead handed to sinks and templates. */
export interface LeadSnapshot {
  id: string;
  tenantId: string;
  subjectRef: string;
  targetId?: string;
  score: number;
  components: Record<string, number>;
  stage: string;
  tier: string | null;
  firstSeenAt: number;
  lastSeenAt: number;
  counts: Record<string, number>;
  profile?: Record<string, unknown>;
}

/** State of an outbox entry. */
export type OutboxStatus = 'pending' | 'claimed' | 'done' | 'dead';

/** An effect as kept in the outbox. */
export interface OutboxEntry {
  effect: Effect;
  status: OutboxStatus;
  attempts: number;
  /** Not to be claimed before this time (epoch ms). */
  availableAt: number;
  /** Set while claimed: the claim expires at this time and the entry becomes claimable again. */
  leaseUntil?: number;
  claimedBy?: string;
  lastError?: string;
}

/** A line of the audit log: who changed what, and why. */
export interface AuditEntry {
  tenantId: string;
  at: number;
  /** e.g. `lead.stage_changed`, `subject.identified`. */
  action: string;
  leadId?: string;
  subjectRef?: string;
  data: Record<string, unknown>;
}

/** What the host knows about a person: traits from `identify`, used as the `profile` fact. */
export interface Profile {
  tenantId: string;
  subjectId: string;
  traits: Record<string, unknown>;
  updatedAt: number;
}
