/**
 * The embedded default {@link Store}: plain Maps in this process. The fastest path, and the
 * reference behaviour that `@leadpipe/core/testing`'s `storeConformance` checks every adapter against.
 * @module
 */
import type { ClaimOptions, CommitBatch, LeadFilter, Store } from '../contracts.js';
import { ConflictError, EventError, LeadpipeError, NotFoundError } from '../errors.js';
import type { PriorLead } from '../pipeline/lead.js';
import type { AuditEntry, EventInput, LeadState, OutboxEntry, OutboxStatus, Profile, StoredEvent } from '../types.js';
import { AuditLog } from './audit-log.js';
import { Timeline, TimelineColumns } from './timeline.js';
import { ENGINE_LEADS, LeadCodec, type LeadRecord, type Prepared } from './lead-record.js';
import { MAX_KEYS, StringMap, StringSet } from './string-table.js';

/** One tenant's data. Every lookup goes tenant first, so tenants cannot see each other. */
interface TenantData {
  tenantId: string;
  /** Ids of every event stored (the events themselves are in `timelines`). */
  eventIds: StringSet;
  /** Events by `subjectRef`, each timeline sorted by (occurredAt, id). */
  timelines: StringMap<Timeline>;
  /** The store's timeline columns (every tenant's timelines take their blocks from them). */
  columns: TimelineColumns;
  /** (occurredAt, id) of the latest event ever stored: an event after it goes at the end of its timeline (see `#commit`). */
  latestAt: number;
  latestId: string;
  /** Leads in their compact stored form (see `lead-record.ts`). */
  leads: Map<string, LeadRecord>;
  /** Lead ids in paging order; rebuilt lazily after a lead is added or removed (`null`: stale). */
  sortedLeadIds: string[] | null;
  aliases: Map<string, string>;
  profiles: Map<string, Profile>;
  counters: Map<string, number>;
  /** The tenant's outbox entries, in the order added (only listed: the store finds an entry by id in its `#outbox`). */
  effects: OutboxSlot[];
  audit: AuditLog;
}

/** A mutable holder of an immutable {@link OutboxEntry}: a state change swaps `entry` for a new object. */
interface OutboxSlot {
  tenantId: string;
  entry: OutboxEntry;
}

const DEFAULT_LIST_LIMIT = 100;

/** The store calls the engine's track path makes. @internal */
export const TRACK_CALLS = ['commit', 'existingEventIds', 'getLeads', 'getCounters', 'getProfile', 'resolveAlias', 'subjectEvents'] as const;
type TrackCalls = (typeof TRACK_CALLS)[number];

/**
 * The calls of {@link TrackCalls} as plain synchronous functions, with the public methods'
 * behaviour (they are what those methods run), except three, shaped for the engine's track path.
 * See {@link MemoryStore.syncAccess}.
 * @internal
 */
export type SyncStoreAccess = { [K in Exclude<TrackCalls, 'getLeads' | 'existingEventIds' | 'commit'>]: (...args: Parameters<Store[K]>) => Awaited<ReturnType<Store[K]>> } & {
  /**
   * In place of `getLeads`: each lead of `leadIds` (undefined when there is none), in the same
   * order, read as a pipeline step needs it (see `LeadCodec.readPrior`). An array where the batch
   * keeps its leads by position: a `Map` here was ~0.2 KB per single `track()` call, and a hash
   * lookup per event.
   */
  readLeads(tenantId: string, leadIds: readonly string[]): Array<PriorLead | undefined>;
  /**
   * In place of `existingEventIds`: adds each input's id to the tenant's id index, and returns,
   * per input, true where the id was there already (stored before, or an earlier input's); undefined
   * when none was. The ids it added belong to the batch: the batch's `commit` keeps them, and
   * {@link SyncStoreAccess.releaseEventIds} takes them out again if the batch does not commit.
   * Nothing but code the batch itself calls (a custom operator, a listener of `event.duplicate`)
   * can read the store in between. Throws `STORE_FULL`, adding nothing, when the inputs could take
   * the index past its limit.
   *
   * Why: checking an id before the fold and adding it at the commit were two hash operations per
   * event on the largest table the store keeps (a cache miss each once it is large: together ~9%
   * of the pipeline's time, line-level CPU profile of 600k tour events); this is one.
   */
  claimEventIds(tenantId: string, inputs: readonly EventInput[]): boolean[] | undefined;
  /** Takes out the ids the open claim added, and closes it (nothing when none is open). */
  releaseEventIds(): void;
  /** `commit` of a batch whose event ids the same track call claimed: they are neither checked nor added again. */
  commit(batch: CommitBatch): void;
};

/**
 * The in-memory {@link Store}: the embedded default, for one process, tests and replays.
 *
 * **What it keeps.** Events, effects, profiles and audit entries are kept as the very objects
 * handed to {@link MemoryStore.commit} and returned from reads without cloning — except the
 * engine's usual events and stage-change audit entries, kept in columns and rebuilt on read (see
 * `timeline.ts` and `audit-log.ts`). Once committed they belong to the store, and both sides treat
 * them as immutable (the store itself never mutates them; moving events to a subject and outbox
 * state changes replace objects with shallow copies). Leads are kept in a compact form instead
 * (see `lead-record.ts`: about 0.8 KB less per lead, and fewer objects for the garbage collector
 * to trace) and **every lead read is a fresh `LeadState`**
 * that the caller may change freely; only its `routes`, `assignments` and `delivered` lists are
 * shared between reads, and frozen (`delivered` is rebuilt on each read instead when it is exactly
 * one `{ ownerId, at }` per route). Like every store, it keeps a lead's data — its own
 * enumerable fields — not object identity or prototypes; a lead of an unusual shape (an extra
 * field, a non-number in a number record) is kept as a structured clone, and one that is not
 * plain data (a function inside) is rejected before anything is written.
 *
 * Other behaviour, where the {@link Store} contract leaves room:
 * - `commit` validates everything before applying anything, so a rejected batch leaves no
 *   trace. The checks run in this order and the first failure is the error: lead versions
 *   (`VERSION_CONFLICT`), then leads that cannot be stored, then room (`STORE_FULL`: a tenant's
 *   leads, aliases or profiles, or the outbox, could pass 2²³ entries, or its event ids or
 *   timelines 3·2²³; a JavaScript `Map` holds at most 2²⁴, fewer once entries were deleted, a
 *   plain array's elements cannot reach 2²⁷, and a store this large belongs in a database), then events, one by one: an id or
 *   `subjectRef` that is not a string or an `occurredAt` or `receivedAt` that is not a number
 *   (`EVENT_INVALID`, naming the field, e.g. `events[i].id`), an id already
 *   stored or repeated (`DUPLICATE_EVENT`). New ids are checked by adding them to the tenant's id index, all taken out again at a failure;
 *   the commit is synchronous, so no read sees them meanwhile. The same lead may appear more
 *   than once in a batch; each write is checked against the version the previous one wrote. Writes are applied
 *   before `deleteLeads`; `aliases` are applied after `events`, so anonymous events in the same
 *   batch move too. The stored `version` is the lead's own `version` field: the writer increments it.
 * - On the engine's synchronous track path a call claims its event ids before it folds them (see
 *   `SyncStoreAccess.claimEventIds`). Until it commits or fails, `existingEventIds` does not
 *   count them, and a `commit` made from inside that call (by a custom operator or a listener)
 *   that adds one of them is refused with `DUPLICATE_EVENT`: a conflict, as with any concurrent
 *   writer, to retry once the call has ended (the retry succeeds if the call failed).
 * - Effect ids are unique in the whole store, not per tenant, because
 *   {@link MemoryStore.completeEffect} and {@link MemoryStore.failEffect} take only the id. A commit
 *   adding an effect whose id is already in the outbox (or twice in one batch) keeps the first and
 *   ignores the others: an effect id is its idempotency key, so re-deriving an effect is harmless.
 * - A new outbox entry is available from its effect's `createdAt`. A lease holds while
 *   `now < leaseUntil`.
 * - `failEffect` and `completeEffect` never bring a `done` entry back; an unknown id rejects with `NOT_FOUND`.
 * - `listLeads` pages in lead-id order (UTF-16 code units); the cursor is the last id returned, so a
 *   lead changed between pages is neither repeated nor skipped.
 * - `getCounters` returns every requested key, `0` for a counter never incremented.
 * - `listAudit` returns entries in the order they were appended; `limit` keeps the first ones.
 * - Recording an alias for an anonymous id that already has one replaces the link; later events
 *   under `anon:<id>` are not remapped by the store (the engine resolves aliases before writing).
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.commit({ tenantId: 'acme', events: [event], leads: [{ lead, expectedVersion: null }], effects: [] });
 * const lead = await store.getLead('acme', lead.id);
 * ```
 */
export class MemoryStore implements Store {
  readonly #tenants = new Map<string, TenantData>();
  /** Every outbox entry of every tenant, by effect id. */
  readonly #outbox = new Map<string, OutboxSlot>();
  /** The entries not yet `done` or `dead`: the only ones a claim looks at. */
  readonly #open = new Map<string, OutboxSlot>();
  /** Lead shapes, shared transitions and the slabs every lead record's data is in. */
  #codec = new LeadCodec();
  #columns = new TimelineColumns();
  #closed = false;
  /** Counts the commits applied (and closes): a read's records are still the stored ones while it has not moved. */
  #writes = 0;
  /**
   * What the synchronous `readLeads` last read: the ids asked for and each one's record. The same
   * track call's commit then takes the records from here instead of looking each lead up again
   * (a cache miss per lead on a large store: ~2% of the pipeline's time, line-level CPU profile
   * of 600k tour events), if nothing was written in between and it writes the same leads in the
   * same order (the engine writes its batch's leads in the order it read them).
   */
  #lastRead: { tenantId: string; ids: readonly string[]; records: Array<LeadRecord | undefined>; writes: number } | undefined;
  /**
   * The event ids a synchronous track call has claimed and not yet committed or given back (see
   * {@link SyncStoreAccess.claimEventIds}). While there is one, `existingEventIds` does not count
   * them and `syncAccess` offers nothing, so another engine called from inside that batch (by a
   * custom operator or a listener) takes the asynchronous path: it never takes an uncommitted id
   * for a stored one, and its own commit, which comes after the batch's, finds the id stored then
   * (a `DUPLICATE_EVENT` conflict, retried) or not (the batch failed).
   */
  #claim: { tenantId: string; inputs: readonly EventInput[]; duplicates: readonly boolean[] | undefined } | undefined;
  readonly #sync: SyncStoreAccess = {
    commit: (batch) => this.#commit(batch, true),
    claimEventIds: (tenantId, inputs) => this.#claimEventIds(tenantId, inputs),
    releaseEventIds: () => this.#releaseEventIds(),
    readLeads: (tenantId, leadIds) => this.#readLeads(tenantId, leadIds),
    getCounters: (tenantId, keys) => this.#getCounters(tenantId, keys),
    getProfile: (tenantId, subjectId) => this.#getProfile(tenantId, subjectId),
    resolveAlias: (tenantId, anonymousId) => this.#resolveAlias(tenantId, anonymousId),
    subjectEvents: (tenantId, subjectRef, targetId) => this.#subjectEvents(tenantId, subjectRef, targetId),
  };

  /**
   * The reads and the commit of the engine's track path as synchronous calls, so that tracking on
   * the memory store never waits for a promise: each awaited store call cost a microtask turn and
   * its promises, ~5 µs of a ~19 µs single `track()` (measured). Undefined when this instance or a
   * subclass overrides any of those methods, or one was replaced on the prototype: the engine then
   * calls the public methods, so an override (a wrapper that counts, a spy, a fault injected in a
   * test) is never bypassed.
   * @internal
   */
  syncAccess(): SyncStoreAccess | undefined {
    if (this.#claim) return undefined;
    // Each of TRACK_CALLS written out (a test checks every one): a loop over the names read them as
    // keyed properties, 14 generic lookups per call, ~2% of a single `track()` (line-level CPU
    // profile, 400k single calls).
    const o = ORIGINAL_METHODS;
    if (this.commit !== o.commit || this.existingEventIds !== o.existingEventIds || this.getLeads !== o.getLeads || this.getCounters !== o.getCounters) return undefined;
    if (this.getProfile !== o.getProfile || this.resolveAlias !== o.resolveAlias || this.subjectEvents !== o.subjectEvents) return undefined;
    return this.#sync;
  }

  /** {@inheritDoc Store.commit} */
  async commit(batch: CommitBatch): Promise<void> {
    this.#commit(batch);
  }

  /** Commits `batch`; with `claimed`, its event ids are in the id index already (see {@link SyncStoreAccess.claimEventIds}). */
  #commit(batch: CommitBatch, claimed = false): void {
    this.#assertOpen();
    const { tenantId } = batch;
    const existing = this.#tenants.get(tenantId);

    // 1. Validate everything. Nothing below this block may throw.
    // Each written lead's record is looked up once, for the version check, the shape and the
    // write: on a large store every lookup is a cache miss (three lookups per lead were ~5% of
    // the pipeline, profiled at 400k events).
    const read = claimed ? this.#readFor(batch) : undefined;
    const records: Array<LeadRecord | undefined> = read ?? new Array(batch.leads.length);
    if (existing && !read) for (let i = 0; i < batch.leads.length; i++) records[i] = existing.leads.get((batch.leads[i] as CommitBatch['leads'][number]).lead.id);
    const fromEngine = (batch as { [ENGINE_LEADS]?: boolean })[ENGINE_LEADS] === true;
    const repeats = validateLeads(batch, existing, records, fromEngine);
    const prepared: Prepared[] = new Array(batch.leads.length);
    for (let i = 0; i < batch.leads.length; i++) {
      const { lead } = batch.leads[i] as CommitBatch['leads'][number];
      prepared[i] = this.#codec.prepare(lead, records[i], tenantId, fromEngine);
    }
    checkRoom(batch, existing, records, this.#outbox.size, claimed);
    // Last, because it writes: the new event ids are checked by adding them (taken out again at a
    // failure), into the id index of a tenant not yet created too. Claimed ids are there already
    // (the claim made the tenant).
    const eventIds = existing?.eventIds ?? new StringSet();
    if (!claimed) addEventIds(eventIds, batch);

    // 2. Apply.
    this.#writes++;
    if (claimed) this.#claim = undefined;
    const t = existing ?? this.#createTenant(tenantId, eventIds);
    for (const event of batch.events) {
      // Events usually come in time order: one after every event of the tenant is appended without
      // reading its timeline's last time (a cache miss once the store is large: ~3.5% of the
      // pipeline's time, line-level CPU profile of 600k tour events).
      const latest = event.occurredAt > t.latestAt || (event.occurredAt === t.latestAt && event.id > t.latestId);
      if (latest) {
        t.latestAt = event.occurredAt;
        t.latestId = event.id;
      }
      timelineOf(t, event.subjectRef).insert(event, latest);
    }
    for (let i = 0; i < batch.leads.length; i++) {
      const { lead } = batch.leads[i] as CommitBatch['leads'][number];
      // A lead new to the store and written twice in this batch: the second write updates the record the first made.
      let record = records[i] ?? (repeats ? t.leads.get(lead.id) : undefined);
      if (record) this.#codec.write(lead, prepared[i] as Prepared, record);
      else {
        if (t.sortedLeadIds !== null) t.sortedLeadIds = null;
        // The person's leads share the subject id string their timeline keeps (each event brings its own copy).
        const subjectRef = t.timelines.get(lead.subjectRef)?.subjectRef;
        t.leads.set(lead.id, (record = this.#codec.write(lead, prepared[i] as Prepared, undefined, subjectRef)));
      }
      // Kept for the audit entries below (see `auditRecord`).
      records[i] = record;
    }
    if (batch.deleteLeads) {
      for (const { id } of batch.deleteLeads) {
        const record = t.leads.get(id);
        if (!record) continue;
        this.#codec.release(record);
        t.leads.delete(id);
        t.sortedLeadIds = null;
      }
    }
    for (const effect of batch.effects) {
      // An effect id is its idempotency key: one already in the outbox is kept as it is.
      if (this.#outbox.has(effect.id)) continue;
      const slot: OutboxSlot = { tenantId, entry: { effect, status: 'pending', attempts: 0, availableAt: effect.createdAt } };
      this.#outbox.set(effect.id, slot);
      this.#open.set(effect.id, slot);
      t.effects.push(slot);
    }
    if (batch.audit) for (const entry of batch.audit) t.audit.push(entry, entry.leadId === undefined ? undefined : auditRecord(t, batch, records, entry.leadId));
    if (batch.aliases) for (const { anonymousId, subjectId } of batch.aliases) moveAlias(t, anonymousId, subjectId);
    if (batch.profiles) for (const profile of batch.profiles) t.profiles.set(profile.subjectId, profile);
    // Indexed: the engine's batch that changes no counter hands a shared frozen empty list, and a
    // for-of over a frozen array allocates its iterator and results (88 bytes per loop on Node 20).
    if (batch.counters) {
      for (let k = 0; k < batch.counters.length; k++) {
        const { key, delta } = batch.counters[k] as NonNullable<CommitBatch['counters']>[number];
        t.counters.set(key, (t.counters.get(key) ?? 0) + delta);
      }
    }
    // Blocks that timelines outgrew and no timeline took again: see `TimelineColumns`.
    if (this.#columns.wasteful) this.#columns.compact((visit) => this.#tenants.forEach((tenant) => tenant.timelines.forEachValue(visit)));
  }

  /** {@inheritDoc Store.existingEventIds} */
  async existingEventIds(tenantId: string, ids: readonly string[]): Promise<Set<string>> {
    return this.#existingEventIds(tenantId, ids) ?? new Set();
  }

  /** The ids that exist, or undefined when none does. */
  #existingEventIds(tenantId: string, ids: readonly string[]): Set<string> | undefined {
    this.#assertOpen();
    let found: Set<string> | undefined;
    const eventIds = this.#tenants.get(tenantId)?.eventIds;
    // Ids claimed by a batch under way are not stored yet (see `#claim`).
    const claimed = this.#claim?.tenantId === tenantId ? claimedIds(this.#claim) : undefined;
    if (eventIds) for (const id of ids) if (eventIds.has(id) && !claimed?.has(id)) (found ??= new Set()).add(id);
    return found;
  }

  #claimEventIds(tenantId: string, inputs: readonly EventInput[]): boolean[] | undefined {
    this.#assertOpen();
    // An internal invariant (syncAccess offers nothing while a claim is open), not a user error.
    if (this.#claim) throw new Error('[leadpipe] [memory-store] internal: event ids claimed while another claim was open.');
    // An empty tenant made here and left empty (the batch failed) reads exactly as no tenant.
    // Before anything is added or made: this claim is the batch's only addition to the id index.
    roomFor(tenantId, 'events', this.#tenants.get(tenantId)?.eventIds.size ?? 0, inputs.length);
    const eventIds = (this.#tenants.get(tenantId) ?? this.#createTenant(tenantId, new StringSet())).eventIds;
    let duplicates: boolean[] | undefined;
    for (let i = 0; i < inputs.length; i++) if (!eventIds.add((inputs[i] as EventInput).id)) (duplicates ??= new Array<boolean>(inputs.length).fill(false))[i] = true;
    this.#claim = { tenantId, inputs, duplicates };
    return duplicates;
  }

  #releaseEventIds(): void {
    // No open check: this cleans up after a failure, whose error is the one to report.
    const claim = this.#claim;
    this.#claim = undefined;
    const eventIds = claim && this.#tenants.get(claim.tenantId)?.eventIds;
    if (eventIds) for (const id of claimedIds(claim)) eventIds.delete(id);
  }

  /** {@inheritDoc Store.getLead} */
  async getLead(tenantId: string, leadId: string): Promise<LeadState | undefined> {
    this.#assertOpen();
    const record = this.#tenants.get(tenantId)?.leads.get(leadId);
    return record ? this.#codec.read(record, tenantId) : undefined;
  }

  /** {@inheritDoc Store.getLeads} */
  async getLeads(tenantId: string, leadIds: readonly string[]): Promise<Map<string, LeadState>> {
    return this.#getLeads(tenantId, leadIds);
  }

  #getLeads(tenantId: string, leadIds: readonly string[]): Map<string, LeadState> {
    this.#assertOpen();
    const found = new Map<string, LeadState>();
    const leads = this.#tenants.get(tenantId)?.leads;
    if (leads) {
      for (const id of leadIds) {
        const record = leads.get(id);
        if (record) found.set(id, this.#codec.read(record, tenantId));
      }
    }
    return found;
  }

  /** {@link SyncStoreAccess.readLeads}; keeps the records read for the same track call's commit (see `#lastRead`). */
  #readLeads(tenantId: string, leadIds: readonly string[]): Array<PriorLead | undefined> {
    this.#assertOpen();
    const priors: Array<PriorLead | undefined> = new Array(leadIds.length);
    const records: Array<LeadRecord | undefined> = new Array(leadIds.length);
    const leads = this.#tenants.get(tenantId)?.leads;
    for (let i = 0; i < leadIds.length; i++) {
      const record = leads?.get(leadIds[i] as string);
      records[i] = record;
      priors[i] = record ? this.#codec.readPrior(record, tenantId) : undefined;
    }
    this.#lastRead = { tenantId, ids: leadIds, records, writes: this.#writes };
    return priors;
  }

  /** The records of the last synchronous read, if they are exactly this batch's leads', still stored (see `#lastRead`). Used once. */
  #readFor(batch: CommitBatch): Array<LeadRecord | undefined> | undefined {
    const read = this.#lastRead;
    this.#lastRead = undefined;
    if (!read || read.writes !== this.#writes || read.tenantId !== batch.tenantId || read.ids.length !== batch.leads.length) return undefined;
    for (let i = 0; i < read.ids.length; i++) if ((batch.leads[i] as CommitBatch['leads'][number]).lead.id !== read.ids[i]) return undefined;
    return read.records;
  }

  /** {@inheritDoc Store.listLeads} */
  async listLeads(tenantId: string, filter: LeadFilter = {}): Promise<{ leads: LeadState[]; next?: string }> {
    this.#assertOpen();
    const limit = Math.max(1, Math.floor(filter.limit ?? DEFAULT_LIST_LIMIT));
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    const t = this.#tenants.get(tenantId);
    if (!t) return { leads: [] };
    const ids = (t.sortedLeadIds ??= [...t.leads.keys()].sort(compareStrings));
    const out: LeadState[] = [];
    for (let i = after === undefined ? 0 : upperBound(ids, after); i < ids.length; i++) {
      const record = t.leads.get(ids[i] as string) as LeadRecord;
      if (!matches(record, filter, this.#codec)) continue;
      if (out.length === limit) return { leads: out, next: encodeCursor((out[limit - 1] as LeadState).id) };
      out.push(this.#codec.read(record, tenantId));
    }
    return { leads: out };
  }

  /** {@inheritDoc Store.subjectEvents} */
  async subjectEvents(tenantId: string, subjectRef: string, targetId?: string): Promise<StoredEvent[]> {
    return this.#subjectEvents(tenantId, subjectRef, targetId);
  }

  #subjectEvents(tenantId: string, subjectRef: string, targetId?: string): StoredEvent[] {
    this.#assertOpen();
    const timeline = this.#tenants.get(tenantId)?.timelines.get(subjectRef);
    return timeline ? timeline.events(targetId) : [];
  }

  /** {@inheritDoc Store.resolveAlias} */
  async resolveAlias(tenantId: string, anonymousId: string): Promise<string | undefined> {
    return this.#resolveAlias(tenantId, anonymousId);
  }

  #resolveAlias(tenantId: string, anonymousId: string): string | undefined {
    this.#assertOpen();
    return this.#tenants.get(tenantId)?.aliases.get(anonymousId);
  }

  /** {@inheritDoc Store.getProfile} */
  async getProfile(tenantId: string, subjectId: string): Promise<Profile | undefined> {
    return this.#getProfile(tenantId, subjectId);
  }

  #getProfile(tenantId: string, subjectId: string): Profile | undefined {
    this.#assertOpen();
    return this.#tenants.get(tenantId)?.profiles.get(subjectId);
  }

  /** Current values of counters ({@link Store.getCounters}); keys never incremented are returned as `0`. */
  async getCounters(tenantId: string, keys: readonly string[]): Promise<Map<string, number>> {
    return this.#getCounters(tenantId, keys);
  }

  #getCounters(tenantId: string, keys: readonly string[]): Map<string, number> {
    this.#assertOpen();
    const counters = this.#tenants.get(tenantId)?.counters;
    const out = new Map<string, number>();
    for (const key of keys) out.set(key, counters?.get(key) ?? 0);
    return out;
  }

  /** {@inheritDoc Store.claimEffects} */
  async claimEffects(options: ClaimOptions): Promise<OutboxEntry[]> {
    this.#assertOpen();
    const { worker, limit, now, leaseMs } = options;
    if (!(limit >= 1)) return [];
    const claimable: OutboxSlot[] = [];
    for (const slot of this.#open.values()) {
      const e = slot.entry;
      if (e.status === 'pending' ? e.availableAt <= now : (e.leaseUntil ?? Number.NEGATIVE_INFINITY) <= now) claimable.push(slot);
    }
    claimable.sort(compareSlots);
    const n = Math.min(Math.floor(limit), claimable.length);
    const claimed: OutboxEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const slot = claimable[i] as OutboxSlot;
      const { effect, attempts, availableAt, lastError } = slot.entry;
      const entry: OutboxEntry = { effect, status: 'claimed', attempts: attempts + 1, availableAt, leaseUntil: now + leaseMs, claimedBy: worker };
      if (lastError !== undefined) entry.lastError = lastError;
      slot.entry = entry;
      claimed[i] = entry;
    }
    return claimed;
  }

  /** Marks a claimed entry done ({@link Store.completeEffect}); idempotent. Completing an unknown id rejects with `NOT_FOUND`. */
  async completeEffect(effectId: string): Promise<void> {
    this.#assertOpen();
    const slot = this.#slot(effectId);
    const { effect, status, attempts, availableAt, claimedBy, lastError } = slot.entry;
    if (status === 'done') return;
    const entry: OutboxEntry = { effect, status: 'done', attempts, availableAt };
    if (claimedBy !== undefined) entry.claimedBy = claimedBy;
    if (lastError !== undefined) entry.lastError = lastError;
    slot.entry = entry;
    this.#open.delete(effectId);
  }

  /**
   * Records a failed attempt ({@link Store.failEffect}): retry at `retryAt`, or mark the entry dead
   * when `retryAt` is null. A `done` or `dead` entry is left as it is (a late report from a worker
   * whose lease expired cannot undo another worker's success). An unknown id rejects with `NOT_FOUND`.
   */
  async failEffect(effectId: string, error: string, retryAt: number | null): Promise<void> {
    this.#assertOpen();
    const slot = this.#slot(effectId);
    const { effect, status, attempts, availableAt } = slot.entry;
    if (status === 'done' || status === 'dead') return;
    if (retryAt === null) {
      slot.entry = { effect, status: 'dead', attempts, availableAt, lastError: error };
      this.#open.delete(effectId);
    } else {
      slot.entry = { effect, status: 'pending', attempts, availableAt: retryAt, lastError: error };
    }
  }

  /** A tenant's outbox entries ({@link Store.listEffects}), sorted by (effect `createdAt`, effect id). */
  async listEffects(tenantId: string, filter: { status?: OutboxStatus; leadId?: string } = {}): Promise<OutboxEntry[]> {
    this.#assertOpen();
    const effects = this.#tenants.get(tenantId)?.effects;
    if (!effects) return [];
    const slots: OutboxSlot[] = [];
    for (const slot of effects) {
      if (filter.status !== undefined && slot.entry.status !== filter.status) continue;
      if (filter.leadId !== undefined && slot.entry.effect.leadId !== filter.leadId) continue;
      slots.push(slot);
    }
    return slots.sort(compareSlots).map((s) => s.entry);
  }

  /** Audit log entries ({@link Store.listAudit}), in the order appended; `limit` keeps the first matching entries. */
  async listAudit(tenantId: string, filter: { leadId?: string; action?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    this.#assertOpen();
    const audit = this.#tenants.get(tenantId)?.audit;
    if (!audit) return [];
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    const out: AuditEntry[] = [];
    for (let i = 0; i < audit.length; i++) {
      if (out.length >= limit) break;
      if (filter.leadId !== undefined && audit.leadId(i) !== filter.leadId) continue;
      if (filter.action !== undefined && audit.action(i) !== filter.action) continue;
      out.push(audit.get(i));
    }
    return out;
  }

  /** Drop all data. Every later call rejects with a `LeadpipeError` of code `STORE_CLOSED`. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#writes++;
    this.#lastRead = undefined;
    this.#tenants.clear();
    this.#outbox.clear();
    this.#open.clear();
    this.#codec = new LeadCodec();
    this.#columns = new TimelineColumns();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new LeadpipeError('STORE_CLOSED', '[leadpipe] [memory-store] The store is closed: create a new MemoryStore instead of using one after close().');
    }
  }

  /** A new tenant's data, starting from the ids its first commit added (see `#commit`). */
  #createTenant(tenantId: string, eventIds: StringSet): TenantData {
    const t: TenantData = {
      tenantId,
      eventIds,
      timelines: new StringMap(),
      columns: this.#columns,
      latestAt: Number.NEGATIVE_INFINITY,
      latestId: '',
      leads: new Map(),
      sortedLeadIds: [],
      aliases: new Map(),
      profiles: new Map(),
      counters: new Map(),
      effects: [],
      audit: new AuditLog(tenantId, this.#codec.transitions),
    };
    this.#tenants.set(tenantId, t);
    return t;
  }

  #slot(effectId: string): OutboxSlot {
    const slot = this.#outbox.get(effectId);
    if (!slot) throw new NotFoundError(`[leadpipe] [memory-store] No outbox entry with id ${effectId}: pass the id of an effect returned by claimEffects.`, { effectId });
    return slot;
  }

}

/** The track-path methods as defined, kept apart so that one replaced on the prototype later (a spy) also counts as overridden. */
const ORIGINAL_METHODS = Object.fromEntries(TRACK_CALLS.map((name) => [name, MemoryStore.prototype[name]])) as Pick<MemoryStore, TrackCalls>;

/** The ids a claim added (those it did not mark as there already). */
function claimedIds(claim: { inputs: readonly EventInput[]; duplicates: readonly boolean[] | undefined }): Set<string> {
  const ids = new Set<string>();
  for (let i = 0; i < claim.inputs.length; i++) if (claim.duplicates?.[i] !== true) ids.add((claim.inputs[i] as EventInput).id);
  return ids;
}

/**
 * Adds the batch's event ids to the tenant's, throwing (with every id of this batch taken out
 * again) at the first one already there or repeated in the batch, at an event that is not an
 * object, or at one whose id or subjectRef is not a string. One hash lookup per event where
 * checking and then adding took two.
 */
function addEventIds(eventIds: StringSet, batch: CommitBatch): void {
  const events = batch.events;
  let i = 0;
  try {
    for (; i < events.length; i++) {
      const event = events[i] as StoredEvent;
      // The store's tables are keyed by these strings (see `string-table.ts`): checked here, before anything is written.
      if (typeof event.id !== 'string') wrongType(i, 'id', 'a string', event.id);
      if (typeof event.subjectRef !== 'string') wrongType(i, 'subjectRef', 'a string', event.subjectRef);
      // Kept unboxed in columns shared by every timeline (see `timeline.ts`).
      if (typeof event.occurredAt !== 'number') wrongType(i, 'occurredAt', 'a number (epoch milliseconds)', event.occurredAt);
      if (typeof event.receivedAt !== 'number') wrongType(i, 'receivedAt', 'a number (epoch milliseconds)', event.receivedAt);
      if (!eventIds.add(event.id)) duplicateEvent(batch, event.id);
    }
  } catch (error) {
    // Every id before the i-th was new (or it would have thrown there): all of them are this batch's.
    for (let j = 0; j < i; j++) eventIds.delete((events[j] as StoredEvent).id);
    throw error;
  }
}

function wrongType(index: number, field: 'id' | 'subjectRef' | 'occurredAt' | 'receivedAt', expected: string, value: unknown): never {
  throw new EventError([{ path: `events[${index}].${field}`, message: `must be ${expected} (the engine's stored events always have one); got ${value === null ? 'null' : typeof value}. Nothing was written.` }]);
}

function duplicateEvent(batch: CommitBatch, id: string): never {
  throw new ConflictError(`[leadpipe] [memory-store] Event ${id} already exists in tenant ${batch.tenantId}. Nothing was written.`, { tenantId: batch.tenantId, eventId: id }, 'DUPLICATE_EVENT');
}

/**
 * Checks writes (then deletes) in batch order, against the store (`records`: each write's stored
 * record) and against earlier writes of the same batch. Returns true when a lead is written more than once.
 * The engine's batches (`fromEngine`, see ENGINE_LEADS) write each lead once and delete none: no
 * earlier writes to track (a Map per batch, ~50 bytes of garbage per tour event, sampled).
 */
function validateLeads(batch: CommitBatch, t: TenantData | undefined, records: ReadonlyArray<LeadRecord | undefined>, fromEngine: boolean): boolean {
  const deletes = batch.deleteLeads ?? [];
  if (batch.leads.length === 0 && deletes.length === 0) return false;
  const once = fromEngine && deletes.length === 0;
  // Version each lead will have after the earlier operations of this batch (undefined: absent).
  const staged = !once && batch.leads.length + deletes.length > 1 ? new Map<string, number | undefined>() : undefined;
  let repeats = false;
  for (let i = 0; i < batch.leads.length; i++) {
    const { lead, expectedVersion } = batch.leads[i] as CommitBatch['leads'][number];
    const again = staged?.has(lead.id) === true;
    if (again) repeats = true;
    const actual = again ? staged?.get(lead.id) : records[i]?.version;
    if (expectedVersion === null ? actual !== undefined : actual !== expectedVersion) conflict(batch.tenantId, lead.id, expectedVersion, actual);
    staged?.set(lead.id, lead.version);
  }
  for (const { id, expectedVersion } of deletes) {
    const actual = staged?.has(id) ? staged.get(id) : t?.leads.get(id)?.version;
    if (actual !== expectedVersion) conflict(batch.tenantId, id, expectedVersion, actual);
    staged?.set(id, undefined);
  }
  return repeats;
}

/** Leads of a batch up to which an audit entry's lead record is found by a scan of the batch (see {@link auditRecord}). */
const SCAN_UP_TO = 8;

/**
 * The stored record of the lead an audit entry names, whose id and subject strings the audit log
 * keeps instead of the entry's copies. The engine's entries are about the batch's own leads: in a
 * small batch (a single `track()`) the record is found among the records just written, not by a
 * lookup in the tenant's table, which is a cache miss or several once the table holds millions of
 * leads. A larger batch, or one that deletes leads, looks it up there: a per-commit index would
 * be a `Map` of garbage per batch, built with as many operations as the lookups it saves.
 */
function auditRecord(t: TenantData, batch: CommitBatch, records: ReadonlyArray<LeadRecord | undefined>, leadId: string): LeadRecord | undefined {
  if (batch.leads.length <= SCAN_UP_TO && !(batch.deleteLeads && batch.deleteLeads.length > 0)) {
    for (let i = 0; i < batch.leads.length; i++) if ((batch.leads[i] as CommitBatch['leads'][number]).lead.id === leadId) return records[i];
  }
  return t.leads.get(leadId);
}

/**
 * Entries the store lets any of its `Map`s hold. A V8 `Map` holds at most 2²⁴ (one more throws
 * `RangeError: Map maximum size exceeded`, Node 20), and a deleted entry keeps its slot until the
 * table is rebuilt: V8 rebuilds a full table at the same size when at least half its slots are
 * deleted ones, at twice the size otherwise (`OrderedHashTable::EnsureGrowable`,
 * `deps/v8/src/objects/ordered-hash-table.cc`), so a table of 2²⁴ − 1 live entries and one
 * deleted throws on the next new key (checked). With at most 2²³ live entries, a full table is at
 * least half deleted slots and is rebuilt at its size, never grown past 2²⁴.
 */
const MAP_LIMIT = 1 << 23;

/** The store's tables that can fill up: how many entries the store keeps in each, and what an error calls it (see {@link checkRoom}). */
const LIMITS = {
  leads: { limit: MAP_LIMIT, name: 'leads' },
  outbox: { limit: MAP_LIMIT, name: 'outbox' },
  aliases: { limit: MAP_LIMIT, name: 'aliases' },
  profiles: { limit: MAP_LIMIT, name: 'profiles' },
  // The string-keyed tables (`string-table.ts`, which says why their limit is MAX_KEYS).
  events: { limit: MAX_KEYS, name: 'event ids' },
  timelines: { limit: MAX_KEYS, name: 'timelines (people with stored events)' },
} as const;

/**
 * Refuses a commit that could take one of the store's tables past its limit (see {@link LIMITS}),
 * before anything is written: the table would throw halfway through applying it, or, for the
 * string-keyed tables, the process would end. Counts what the batch could add at most (every
 * lead without a stored record, every effect, alias and profile, every event id not claimed
 * already, a timeline for every event), not what it deletes. An alias adds no timeline: it moves
 * the anonymous timeline, deleted before the person's is made (see `moveAlias`). Counters (keys
 * from the config) and tenants are not counted.
 */
function checkRoom(batch: CommitBatch, t: TenantData | undefined, records: ReadonlyArray<LeadRecord | undefined>, outboxSize: number, claimed: boolean): void {
  let newLeads = 0;
  for (let i = 0; i < records.length; i++) if (records[i] === undefined) newLeads++;
  const { tenantId } = batch;
  roomFor(tenantId, 'leads', t?.leads.size ?? 0, newLeads);
  roomFor(tenantId, 'outbox', outboxSize, batch.effects.length);
  roomFor(tenantId, 'aliases', t?.aliases.size ?? 0, batch.aliases?.length ?? 0);
  roomFor(tenantId, 'profiles', t?.profiles.size ?? 0, batch.profiles?.length ?? 0);
  // Claimed ids are in the index already (the claim checked for room).
  roomFor(tenantId, 'events', t?.eventIds.size ?? 0, claimed ? 0 : batch.events.length);
  roomFor(tenantId, 'timelines', t?.timelines.size ?? 0, batch.events.length);
}

function roomFor(tenantId: string, table: keyof typeof LIMITS, size: number, adding: number): void {
  const { limit, name } = LIMITS[table];
  if (size + adding <= limit) return;
  const what = table === 'outbox' ? 'the outbox' : `tenant ${tenantId}'s ${name}`;
  throw new LeadpipeError('STORE_FULL', `[leadpipe] [memory-store] This batch could take ${what} past ${limit.toLocaleString('en-US')} entries, the most the memory store keeps there: nothing was written. Keep data this large in a store backed by a database (an implementation of the \`Store\` contract).`, {
    details: { tenantId, table, size, adding, limit },
  });
}

function conflict(tenantId: string, leadId: string, expectedVersion: number | null, actual: number | undefined): never {
  const found = actual === undefined ? 'it does not exist' : `it is at version ${actual}`;
  const wanted = expectedVersion === null ? 'not to exist' : `to be at version ${expectedVersion}`;
  throw new ConflictError(`[leadpipe] [memory-store] Lead ${leadId} was expected ${wanted}, but ${found}: re-read it and retry. Nothing was written.`, {
    tenantId,
    leadId,
    expectedVersion,
    actualVersion: actual ?? null,
  });
}

function timelineOf(t: TenantData, subjectRef: string): Timeline {
  let timeline = t.timelines.get(subjectRef);
  if (!timeline) {
    timeline = new Timeline(t.columns, t.tenantId, subjectRef);
    t.timelines.set(subjectRef, timeline);
  }
  return timeline;
}

/** Records the alias and moves the anonymous timeline into the subject's, keeping (occurredAt, id) order. */
function moveAlias(t: TenantData, anonymousId: string, subjectId: string): void {
  t.aliases.set(anonymousId, subjectId);
  const anonRef = `anon:${anonymousId}`;
  const anon = t.timelines.get(anonRef);
  if (!anon || anonRef === subjectId) return;
  t.timelines.delete(anonRef);
  const target = timelineOf(t, subjectId);
  for (const e of anon.events()) target.insert({ ...e, subjectRef: subjectId, subjectId });
  anon.release();
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSlots(a: OutboxSlot, b: OutboxSlot): number {
  return a.entry.effect.createdAt - b.entry.effect.createdAt || compareStrings(a.entry.effect.id, b.entry.effect.id);
}

/** Index of the first id greater than `after` in a sorted array. */
function upperBound(ids: readonly string[], after: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function matches(record: LeadRecord, f: LeadFilter, codec: LeadCodec): boolean {
  // A lead kept as a clone (see lead-record.ts) may lack any field: read it defensively.
  const lead = record.raw ?? record;
  if (f.stage !== undefined && lead.stage !== f.stage) return false;
  if (f.tier !== undefined && lead.tier !== f.tier) return false;
  if (f.subjectRef !== undefined && lead.subjectRef !== f.subjectRef) return false;
  if (f.targetId !== undefined && lead.targetId !== f.targetId) return false;
  if (f.minScore !== undefined && !(codec.score(record) >= f.minScore)) return false;
  if (f.ownerId !== undefined && !(Array.isArray(lead.routes) && lead.routes.some((r) => r?.ownerId === f.ownerId))) return false;
  return true;
}

function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const after = (parsed as { after?: unknown } | null)?.after;
    if (typeof after === 'string') return after;
  } catch {
    // fall through to the error below
  }
  throw new NotFoundError('[leadpipe] [memory-store] listLeads cursor was not issued by this store: pass the `next` value of a previous page unchanged.', {
    cursor,
  });
}
