/**
 * The adapter contracts. Each is small; the memory implementations in `./memory` are the
 * embedded default, and `@leadpipe/core/testing` holds a conformance suite for each that any
 * adapter runs.
 * @module
 */
import type { AuditEntry, Effect, LeadSnapshot, LeadState, OutboxEntry, Profile, StoredEvent } from './types.js';

/** A source of the current time. Injected so tests and replays control time. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
}

/** Structured logger. The default logger is silent. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A lead to write, with the version the writer read (`null`: the lead must not exist yet). */
export interface LeadWrite {
  lead: LeadState;
  expectedVersion: number | null;
}

/**
 * Everything one engine step changes, committed all-or-nothing.
 * If any `expectedVersion` does not match, or any event id in `events` already exists in the
 * tenant, nothing is written and `commit` throws a `ConflictError`.
 */
export interface CommitBatch {
  tenantId: string;
  /** Events to append. Ids must be new in the tenant. */
  events: StoredEvent[];
  /** Lead states to insert or replace (optimistic version check). */
  leads: LeadWrite[];
  /** Leads to delete (identity merge removes the anonymous leads), with the version read. */
  deleteLeads?: Array<{ id: string; expectedVersion: number }>;
  /**
   * Effects to add to the outbox as `pending`. An effect id is its idempotency key: an effect whose
   * id is already in the outbox is ignored, not an error, so re-deriving an effect (a replay) never
   * sends it twice. Ids must be unique across tenants (the engine's include the tenant id).
   */
  effects: Effect[];
  audit?: AuditEntry[];
  /** `anonymousId → subjectId` links to record, and events to move from `anon:<id>` to the subject. */
  aliases?: Array<{ anonymousId: string; subjectId: string }>;
  profiles?: Profile[];
  /** Counter increments (round-robin cursors, owner loads), applied atomically with the rest. */
  counters?: Array<{ key: string; delta: number }>;
}

/** Filter for {@link Store.listLeads}. All fields are optional and combined with AND. */
export interface LeadFilter {
  stage?: string;
  tier?: string;
  subjectRef?: string;
  targetId?: string;
  ownerId?: string;
  minScore?: number;
  /** Maximum rows returned. @defaultValue 100 */
  limit?: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
}

/** Options for claiming outbox entries. */
export interface ClaimOptions {
  /** Identifies the claiming worker (for leases and logs). */
  worker: string;
  /** Maximum entries to claim. */
  limit: number;
  /** Current time (epoch ms): only entries with `availableAt <= now` or an expired lease are claimed. */
  now: number;
  /** How long the claim holds (ms) before another worker may take the entry. */
  leaseMs: number;
}

/**
 * Persistence for events, leads, outbox and audit log. All methods are tenant-scoped: nothing
 * one tenant writes is visible to another.
 */
export interface Store {
  /** Atomically apply a {@link CommitBatch}. Throws `ConflictError` on a version or event-id clash. */
  commit(batch: CommitBatch): Promise<void>;
  /** Which of these event ids the tenant already has. */
  existingEventIds(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
  /** One lead by id, or undefined. */
  getLead(tenantId: string, leadId: string): Promise<LeadState | undefined>;
  /** Several leads by id; ids with no lead are absent from the map. */
  getLeads(tenantId: string, leadIds: readonly string[]): Promise<Map<string, LeadState>>;
  /** Leads matching a filter, one page at a time; `next` is the cursor of the following page. */
  listLeads(tenantId: string, filter?: LeadFilter): Promise<{ leads: LeadState[]; next?: string }>;
  /** Events of one subject (`subjectRef`), optionally of one target, sorted by (occurredAt, id). */
  subjectEvents(tenantId: string, subjectRef: string, targetId?: string): Promise<StoredEvent[]>;
  /** The subject an anonymous id was identified as, if any. */
  resolveAlias(tenantId: string, anonymousId: string): Promise<string | undefined>;
  /** The profile (traits) of a subject, or undefined. */
  getProfile(tenantId: string, subjectId: string): Promise<Profile | undefined>;
  /** Current values of counters (owner loads, round-robin cursors); 0 for one never incremented. */
  getCounters(tenantId: string, keys: readonly string[]): Promise<Map<string, number>>;
  /** Claim up to `limit` available outbox entries, oldest first, under a lease. */
  claimEffects(options: ClaimOptions): Promise<OutboxEntry[]>;
  /** Mark a claimed entry done. Idempotent. */
  completeEffect(effectId: string): Promise<void>;
  /** Record a failed attempt: retry at `retryAt`, or mark dead when `retryAt` is null. */
  failEffect(effectId: string, error: string, retryAt: number | null): Promise<void>;
  /** Outbox entries of a tenant (for inspection and tests), oldest first. */
  listEffects(tenantId: string, filter?: { status?: OutboxEntry['status']; leadId?: string }): Promise<OutboxEntry[]>;
  /** Audit log entries in the order they were appended. */
  listAudit(tenantId: string, filter?: { leadId?: string; action?: string; limit?: number }): Promise<AuditEntry[]>;
  /** Release resources. Calls after `close` reject with `STORE_CLOSED`. */
  close(): Promise<void>;
}

/** A job handed to a {@link Queue}. */
export interface QueueJob<T> {
  /** Jobs with the same id enqueued twice while the first is pending run once. */
  id: string;
  payload: T;
}

/** Options for {@link Queue.process}. */
export interface ProcessOptions {
  /** Jobs run at once. @defaultValue 1 */
  concurrency?: number;
  /** Attempts before a job is given up (the handler's error is then logged). @defaultValue 5 */
  maxAttempts?: number;
  /** Delay before retry `n` (1-based), in ms. @defaultValue exponential from 100 ms */
  backoffMs?: (attempt: number) => number;
}

/**
 * A work queue with at-least-once delivery: a job whose handler throws (or whose worker dies) is
 * run again, so handlers must be idempotent (the engine's are, by event id).
 */
export interface Queue<T> {
  /** Add a job; a job whose id is already waiting is not added again. */
  enqueue(job: QueueJob<T>): Promise<void>;
  /** Add several jobs at once. */
  enqueueMany(jobs: readonly QueueJob<T>[]): Promise<void>;
  /** Start handling jobs. Call once per queue instance. */
  process(handler: (job: QueueJob<T>) => Promise<void>, options?: ProcessOptions): void;
  /** Resolves when no job is waiting or running. */
  drain(): Promise<void>;
  /** Stop taking jobs, wait for running ones, release resources. */
  close(): Promise<void>;
}

/** A job for a {@link Scheduler}. */
export interface ScheduledJob<T> {
  /** Scheduling the same id again replaces the earlier job. */
  id: string;
  payload: T;
}

/** Runs jobs at a time, or repeatedly on a cron expression. */
export interface Scheduler<T> {
  /** Run `job` once at `runAt` (epoch ms; a past time runs as soon as possible). */
  schedule(job: ScheduledJob<T>, runAt: number): Promise<void>;
  /** Run `job` at every time matching a 5-field cron expression, in `timeZone` (IANA). */
  repeat(job: ScheduledJob<T>, cron: string, options?: { timeZone?: string }): Promise<void>;
  /** Cancel a scheduled or repeating job. Returns false when there was none. */
  cancel(id: string): Promise<boolean>;
  /** Start running due jobs with `handler`. */
  start(handler: (job: ScheduledJob<T>, firedAt: number) => Promise<void>): void;
  /** Stop running jobs and release resources. */
  close(): Promise<void>;
}

/** Hands a lead to an external system (CRM, lead database API, webhook) by external id. */
export interface Sink {
  /** Insert or update the lead. Must be idempotent for the same `idempotencyKey`. Throw `DeliveryError` on failure. */
  upsert(lead: LeadSnapshot, context: { ownerId: string; idempotencyKey: string }): Promise<void>;
}
