/**
 * Small builders of valid leadpipe values, for adapter tests and host tests: pass only the fields
 * a test cares about.
 * @module
 */
import { snapshot } from '../snapshot.js';
import { randomUUID } from 'node:crypto';
import type { CommitBatch } from '../contracts.js';
import type { AuditEntry, DeliveryEffect, LeadSnapshot, LeadState, NotificationEffect, Profile, StoredEvent } from '../types.js';
import { DEFAULT_TENANT } from '../types.js';

/** 2025-01-01T00:00:00Z: the time builders use when a test gives none. */
export const BUILDER_EPOCH = Date.UTC(2025, 0, 1);

// Effect ids must be unique in a whole store (not only per tenant), even one that outlives a test
// run: a random per-process part keeps default ids from colliding with an earlier run's.
const RUN = randomUUID().slice(0, 8);
let sequence = 0;
function nextId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${RUN}-${sequence.toString().padStart(6, '0')}`;
}

/**
 * A {@link StoredEvent}. `subjectRef` follows `subjectId`, else `anon:<anonymousId>`; a `subjectRef`
 * that is not `anon:…` also sets `subjectId`.
 * @defaultValue id `evt-<run>-<n>` (unique), tenant `default`, type `page_view`,
 * subject `subject-1`, `occurredAt` and `receivedAt` {@link BUILDER_EPOCH}, empty properties and context
 * @example
 * ```ts
 * const anon = makeEvent({ tenantId, anonymousId: 'a1', occurredAt: t0 + 10 }); // subjectRef 'anon:a1'
 * ```
 */
export function makeEvent(partial: Partial<StoredEvent> = {}): StoredEvent {
  const ref = partial.subjectRef;
  const subjectId =
    partial.subjectId ??
    (ref !== undefined ? (ref.startsWith('anon:') ? undefined : ref) : partial.anonymousId === undefined ? 'subject-1' : undefined);
  const subjectRef = ref ?? subjectId ?? `anon:${partial.anonymousId}`;
  const occurredAt = partial.occurredAt ?? BUILDER_EPOCH;
  const event: StoredEvent = {
    id: partial.id ?? nextId('evt'),
    tenantId: partial.tenantId ?? DEFAULT_TENANT,
    type: partial.type ?? 'page_view',
    subjectRef,
    occurredAt,
    properties: partial.properties ?? {},
    context: partial.context ?? {},
    receivedAt: partial.receivedAt ?? occurredAt,
  };
  if (subjectId !== undefined) event.subjectId = subjectId;
  if (partial.anonymousId !== undefined) event.anonymousId = partial.anonymousId;
  if (partial.targetId !== undefined) event.targetId = partial.targetId;
  if (partial.channel !== undefined) event.channel = partial.channel;
  return event;
}

/**
 * A {@link LeadState}. The id is derived from the key (`<subjectRef>` or `<subjectRef>|<targetId>`)
 * unless given.
 * @defaultValue tenant `default`, subject `subject-1`, version 1, score 0, stage `new`, tier null,
 * no routes, all times {@link BUILDER_EPOCH}
 * @example
 * ```ts
 * const lead = makeLead({ tenantId, subjectRef: 's1', targetId: 'tour-9', score: 72, stage: 'qualified' });
 * ```
 */
export function makeLead(partial: Partial<LeadState> = {}): LeadState {
  const subjectRef = partial.subjectRef ?? 'subject-1';
  const targetId = partial.targetId;
  const at = partial.lastSeenAt ?? partial.firstSeenAt ?? BUILDER_EPOCH;
  const lead: LeadState = {
    id: partial.id ?? (targetId === undefined ? subjectRef : `${subjectRef}|${targetId}`),
    tenantId: partial.tenantId ?? DEFAULT_TENANT,
    subjectRef,
    version: partial.version ?? 1,
    score: partial.score ?? 0,
    components: partial.components ?? {},
    breakdown: partial.breakdown ?? { sources: {}, components: {} },
    counts: partial.counts ?? {},
    firstSeenAt: partial.firstSeenAt ?? at,
    lastSeenAt: partial.lastSeenAt ?? at,
    cursor: partial.cursor ?? { occurredAt: at, id: '' },
    stage: partial.stage ?? 'new',
    tier: partial.tier === undefined ? null : partial.tier,
    stageHistory: partial.stageHistory ?? [],
    routes: partial.routes ?? [],
    delivered: partial.delivered ?? [],
    assignments: partial.assignments ?? {},
    scoring: partial.scoring ?? { signals: {} },
    createdAt: partial.createdAt ?? at,
    updatedAt: partial.updatedAt ?? at,
  };
  if (targetId !== undefined) lead.targetId = targetId;
  return lead;
}

/** The {@link LeadSnapshot} of a lead, as sinks and templates receive it (the engine's own function). */
export const snapshotOf: (lead: LeadState) => LeadSnapshot = (lead) => snapshot(lead);

/**
 * A delivery {@link DeliveryEffect} (the kind an outbox test usually needs).
 * @defaultValue id `eff-<run>-<n>` (unique), tenant `default`, lead `subject-1`, owner `owner-1`,
 * sink `default`, `createdAt` {@link BUILDER_EPOCH}, the snapshot of a default lead
 * @example
 * ```ts
 * const effect = makeEffect({ tenantId, leadId: lead.id, createdAt: t0 });
 * ```
 */
export function makeEffect(partial: Partial<DeliveryEffect> = {}): DeliveryEffect {
  const tenantId = partial.tenantId ?? DEFAULT_TENANT;
  const leadId = partial.leadId ?? 'subject-1';
  return {
    kind: 'delivery',
    id: partial.id ?? nextId('eff'),
    tenantId,
    leadId,
    routedAt: partial.routedAt ?? partial.createdAt ?? BUILDER_EPOCH,
    createdAt: partial.createdAt ?? BUILDER_EPOCH,
    ownerId: partial.ownerId ?? 'owner-1',
    sink: partial.sink ?? 'default',
    payload: partial.payload ?? snapshotOf(makeLead({ tenantId, id: leadId })),
  };
}

/**
 * A {@link NotificationEffect}.
 * @defaultValue as {@link makeEffect}, with channel `email` and template `new-lead`
 */
export function makeNotificationEffect(partial: Partial<NotificationEffect> = {}): NotificationEffect {
  const { channel, template, kind: _kind, ...rest } = partial;
  const { kind: _k, sink: _sink, ownerId, payload, ...base } = makeEffect(rest);
  return { ...base, kind: 'notification', ownerId, payload, channel: channel ?? 'email', template: template ?? 'new-lead' };
}

/**
 * An {@link AuditEntry}.
 * @defaultValue tenant `default`, action `lead.stage_changed`, `at` {@link BUILDER_EPOCH}, empty data
 */
export function makeAudit(partial: Partial<AuditEntry> = {}): AuditEntry {
  const entry: AuditEntry = {
    tenantId: partial.tenantId ?? DEFAULT_TENANT,
    at: partial.at ?? BUILDER_EPOCH,
    action: partial.action ?? 'lead.stage_changed',
    data: partial.data ?? {},
  };
  if (partial.leadId !== undefined) entry.leadId = partial.leadId;
  if (partial.subjectRef !== undefined) entry.subjectRef = partial.subjectRef;
  return entry;
}

/**
 * A {@link Profile}.
 * @defaultValue tenant `default`, subject `subject-1`, no traits, `updatedAt` {@link BUILDER_EPOCH}
 */
export function makeProfile(partial: Partial<Profile> = {}): Profile {
  return {
    tenantId: partial.tenantId ?? DEFAULT_TENANT,
    subjectId: partial.subjectId ?? 'subject-1',
    traits: partial.traits ?? {},
    updatedAt: partial.updatedAt ?? BUILDER_EPOCH,
  };
}

/**
 * A {@link CommitBatch} with empty `events`, `leads` and `effects` unless given.
 * @example
 * ```ts
 * await store.commit(makeBatch(tenantId, { leads: [{ lead, expectedVersion: null }] }));
 * ```
 */
export function makeBatch(tenantId: string, partial: Partial<Omit<CommitBatch, 'tenantId'>> = {}): CommitBatch {
  return { ...partial, tenantId, events: partial.events ?? [], leads: partial.leads ?? [], effects: partial.effects ?? [] };
}
