/**
 * The engine: validates and stores events, runs score → qualify → route for the leads they touch,
 * and commits state, events and effects atomically through the {@link Store} (an outbox). Stages
 * are pure (see `./pipeline`); all I/O happens here.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { parseConfig } from './config/parse.js';
import type { Config, ConfigInput } from './config/schema.js';
import type { Clock, CommitBatch, Logger, Sink, Store } from './contracts.js';
import { ConflictError, DeliveryError, EventError, LeadpipeError, NotFoundError, isLeadpipeError, type Issue } from './errors.js';
import type { LeadpipeEventMap, LeadpipeEventName, LifecycleEvent } from './events.js';
import { silentLogger } from './memory/logger.js';
import { snapshot } from './snapshot.js';
import { systemClock } from './memory/clock.js';
import { ENGINE_LEADS } from './memory/lead-record.js';
import { MemoryStore, type SyncStoreAccess } from './memory/store.js';
import { applyEvent, foldLead, isAfter, leadFacts, leadIdOf, type PriorLead, type StepContext, type StepFacts, type StepResult } from './pipeline/lead.js';
import { cursorKey, loadKey, route, type RoutingDecision } from './pipeline/route.js';
import { buildRuntime, type Runtime, type RuntimeOptions } from './pipeline/runtime.js';
import { advance, computeScore, eventFacts, fitPoints } from './pipeline/score.js';
import { eventIssues, isValidEvent, toEpoch } from './pipeline/validate-event.js';
import type { ConditionResult, Facts } from './rules/types.js';
import {
  DEFAULT_TENANT,
  type AuditEntry,
  type DeliveryEffect,
  type RouteRecord,
  type Effect,
  type EventInput,
  type LeadState,
  type Profile,
  type StageTransition,
  type StoredEvent,
} from './types.js';

type Listeners = { [K in LeadpipeEventName]: (payload: LeadpipeEventMap[K]) => void };

/** Options for {@link createEngine}. */
export interface EngineOptions {
  /** The config: a document to validate, or the result of `parseConfig`. */
  config: ConfigInput | Config;
  /** Where state lives. @defaultValue a new {@link MemoryStore} */
  store?: Store;
  /** @defaultValue the system clock */
  clock?: Clock;
  /** @defaultValue a silent logger */
  logger?: Logger;
  /** Custom rule operators, by name (as json-rules-engine's `addOperator`). */
  operators?: RuntimeOptions['operators'];
  /** How rules are compiled. @defaultValue 'auto' */
  ruleMode?: RuntimeOptions['mode'];
  /** Sinks deliveries are handed to, by name (`default` unless a routing rule names another). */
  sinks?: Record<string, Sink>;
  /** Commit attempts when a concurrent writer moved a lead first. @defaultValue 10 */
  maxConflictRetries?: number;
}

/** What `track` did with one event. */
export interface TrackResult {
  /**
   * - `processed`: stored and scored into `leads`;
   * - `stored`: stored on the timeline but scores no lead (its type is not a signal, or the lead key needs a target it lacks);
   * - `duplicate`: the id was seen before; nothing changed;
   * - `rejected`: withheld for lack of consent (`reason: 'CONSENT_REQUIRED'`); nothing was stored.
   */
  status: 'processed' | 'stored' | 'duplicate' | 'rejected';
  eventId: string;
  tenantId: string;
  reason?: 'CONSENT_REQUIRED';
  /** Leads this event changed, as committed. */
  leads: LeadState[];
  /**
   * The routing outcome for the lead (when one was scored). Read-only: the decisions that route
   * and skip nobody (`below-threshold`, `closed`, `not-configured`) are shared and frozen.
   */
  routing?: RoutingDecision;
  /** Effects added to the outbox. */
  effects: Effect[];
  /** True when the event arrived out of order and the lead was replayed from its history. */
  replayed?: boolean;
}

/** Input of {@link Engine.identify}. */
export interface IdentifyInput {
  tenantId?: string;
  anonymousId?: string;
  subjectId: string;
  /** Profile facts to merge into the subject's profile (used by fit rules and as the `profile` fact). */
  traits?: Record<string, unknown>;
}

/** Addresses one lead. */
export interface LeadRef {
  tenantId?: string;
  subjectId?: string;
  anonymousId?: string;
  targetId?: string;
  /** The lead id itself, instead of the key fields. */
  leadId?: string;
}

/** An explanation of a lead's state: see {@link Engine.explain}. */
export interface Explanation {
  lead: LeadState;
  /** Time the score is computed at (the lead's last event unless `at` was given). */
  at: number;
  score: { value: number; components: Record<string, number>; breakdown: LeadState['breakdown'] };
  /** Each qualification rule with its conditions' fact values and results, in evaluation order. */
  rules: Array<{ name: string; priority: number; stage?: string; tier?: string; result: boolean; conditions: ConditionResult | null }>;
  stageHistory: StageTransition[];
  /** What routing would decide now, and the routes already taken. */
  routing: { decision: RoutingDecision; routes: LeadState['routes'] };
  facts: Facts;
}

/** Result of {@link Engine.simulate}. */
export interface SimulationResult {
  results: TrackResult[];
  /** Final state of every lead the events touched. */
  leads: LeadState[];
  /** Every effect that would have been added to the outbox. */
  effects: Effect[];
  /** Lifecycle events that would have been emitted, in order. */
  events: LifecycleEvent[];
}

/** Options for {@link Engine.dispatch}. */
export interface DispatchOptions {
  /** @defaultValue 'engine' */
  worker?: string;
  /** Maximum effects per call. @defaultValue 100 */
  limit?: number;
  /** @defaultValue 30 s */
  leaseMs?: number;
  /** Delay before retry n (1-based). @defaultValue 1 s · 2^(n−1), at most 1 h */
  backoffMs?: (attempt: number) => number;
  /** Attempts before an effect is marked dead. @defaultValue 8 */
  maxAttempts?: number;
}

/**
 * Creates an engine. A config document is validated first (throws `ConfigError` listing every
 * problem).
 * @example
 * const engine = createEngine({ config: { signals: { view: { points: 5 } } } });
 * await engine.track({ id: 'e1', type: 'view', subjectId: 'u1', occurredAt: Date.now() });
 */
export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

/** The leadpipe engine. Create it with {@link createEngine}. */
export class Engine extends EventEmitter<Listeners> {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** @internal */
  readonly runtime: Runtime;
  private readonly sinks: Record<string, Sink>;
  private readonly maxRetries: number;
  private readonly locks = new KeyedLock();
  /** The batch running synchronously on the memory store, if one is (see {@link Engine.tenantBatch}). */
  private syncBatch: SyncBatch | undefined;
  /**
   * The lead facts object the steps of this engine's track path write (see `StepContext.facts`).
   * One per engine, not per batch, so a single `track()` makes none. A step that starts while
   * another is running (only code a step runs could start one) makes its own.
   */
  private readonly stepFacts: StepFacts = { facts: {}, busy: false };
  private readonly emitAllBound = this.emitAll.bind(this);
  /**
   * Counter keys the routing stage may read: loads of owners with a capacity (all owners' loads
   * when a rule picks least-loaded), and round-robin cursors. Only these are read before a batch;
   * loads of other owners are still incremented, as deltas, at commit. Reading every owner's load
   * cost ~2.6 µs per single `track()` call with the tour config's 41 owners, none of them needed.
   */
  private readonly counterKeys: string[];

  constructor(options: EngineOptions) {
    super();
    const operators = options.operators ? Object.keys(options.operators) : undefined;
    this.config = isParsed(options.config) ? options.config : parseConfig(options.config, operators ? { operators } : {});
    this.runtime = buildRuntime(this.config, { ...(options.operators ? { operators: options.operators } : {}), ...(options.ruleMode ? { mode: options.ruleMode } : {}) });
    this.store = options.store ?? new MemoryStore();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.sinks = options.sinks ?? {};
    this.maxRetries = options.maxConflictRetries ?? 10;
    const keys = new Set<string>();
    const routing = this.runtime.routing;
    const picks = [...(routing?.rules.map((r) => ({ name: r.name, pick: r.def.to.pick })) ?? []), ...(routing?.fallback ? [{ name: 'fallback', pick: routing.fallback.def.pick }] : [])];
    const leastLoaded = picks.some((p) => p.pick === 'least-loaded');
    for (const owner of routing?.owners.values() ?? []) if (leastLoaded || owner.capacity !== undefined) keys.add(owner.loadKey);
    for (const p of picks) if (p.pick === 'round-robin') keys.add(cursorKey(p.name));
    this.counterKeys = [...keys];
  }

  /** The id of the lead a key addresses. */
  leadId(ref: LeadRef): string {
    if (ref.leadId !== undefined) return ref.leadId;
    const subjectRef = ref.subjectId ?? (ref.anonymousId !== undefined ? `anon:${ref.anonymousId}` : undefined);
    if (subjectRef === undefined) throw new EventError([{ path: 'subjectId', message: 'name the lead by "leadId", "subjectId" or "anonymousId"' }]);
    const id = leadIdOf(this.runtime, { subjectRef, ...(ref.targetId !== undefined ? { targetId: ref.targetId } : {}) });
    if (id === undefined) throw new EventError([{ path: 'targetId', message: 'this config keys leads by subject and target: give "targetId" too' }]);
    return id;
  }

  /**
   * Tracks one event: validate, consent gate, dedupe by id, identity, then score → qualify →
   * route, committed atomically with its effects. Rejects with `EventError` for an invalid event
   * (nothing written). A duplicate or consent-less event is a result, not an error. On the memory
   * store the event is committed, and its lifecycle events emitted, before `track` returns; the
   * promise it returns is then already settled.
   */
  track(input: EventInput): Promise<TrackResult> {
    // Not an `async` function: it hands back the result of a batch that ran synchronously (the
    // memory store's usual case) in a resolved promise, where an `async` body's `await` allocated a
    // promise, a reaction and a resumption per call (~0.4 KB of the ~8.7 KB a single call
    // then allocated, sampled). So that it never throws synchronously, every error becomes a rejection.
    try {
      if (!isValidEvent(input)) {
        const issues = eventIssues(input);
        this.emit('event.rejected', { event: safePartial(input), code: 'EVENT_INVALID', issues });
        throw new EventError(issues);
      }
      const results = this.trackValid([input], this.emitAllBound);
      return isThenable(results) ? results.then(firstResult) : Promise.resolve(results[0] as TrackResult);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Tracks a batch, in order. The whole batch is validated first: if any event is invalid, an
   * `EventError` lists every problem (paths like `[3].occurredAt`) and nothing is written. The
   * batch then commits all-or-nothing, per tenant: one read of the leads it touches, one atomic
   * commit of its events, leads and effects. Results are in input order, one per event; a
   * duplicate id (seen before, or earlier in the batch) is reported as such.
   */
  async trackMany(inputs: readonly EventInput[]): Promise<TrackResult[]> {
    if (!Array.isArray(inputs)) throw new EventError([{ path: '', message: 'trackMany takes an array of events' }]);
    let issues: Issue[] | undefined;
    for (let i = 0; i < inputs.length; i++) {
      // The hand-written check accepts only what the schema accepts; zod runs only to explain a rejection.
      if (!isValidEvent(inputs[i])) (issues ??= []).push(...eventIssues(inputs[i], `[${i}]`));
    }
    if (issues) throw new EventError(issues);
    return this.trackValid(inputs, this.emitAllBound);
  }

  /** Consent gate, then one batch per tenant (see {@link Engine.tenantBatch}); results in input order. */
  private trackValid(inputs: readonly EventInput[], emit: (events: LifecycleEvent[]) => void): TrackResult[] | Promise<TrackResult[]> {
    if (!this.runtime.consent.required && oneTenant(inputs)) {
      // The usual call (one tenant, no consent gate): the batch is the input, in order, with no
      // grouping Map and index lists (~0.7 KB of garbage per single `track()` call), and no
      // generator to run it (~0.5 KB more, measured). A copy: a batch that has to wait may read it
      // after the caller has reused its array.
      if (inputs.length === 0) return [];
      return this.tenantBatch((inputs[0] as EventInput).tenantId ?? DEFAULT_TENANT, inputs.slice(), emit);
    }
    return drive(this.trackGrouped(inputs, emit));
  }

  /** {@link Engine.trackValid} for a batch of several tenants or under a consent gate. Run it with {@link drive}. */
  private *trackGrouped(inputs: readonly EventInput[], emit: (events: LifecycleEvent[]) => void): Generator<unknown, TrackResult[], unknown> {
    const consent = this.runtime.consent;
    const results: TrackResult[] = new Array(inputs.length);
    const byTenant = new Map<string, number[]>();
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as EventInput;
      const tenantId = input.tenantId ?? DEFAULT_TENANT;
      if (consent.required && input.context?.consent?.[consent.purpose] !== true) {
        // Withheld events are not stored: without consent we keep nothing about the person.
        this.emit('event.rejected', {
          event: { id: input.id, type: input.type, ...(input.tenantId ? { tenantId: input.tenantId } : {}) },
          code: 'CONSENT_REQUIRED',
          issues: [{ path: `context.consent.${consent.purpose}`, message: `this config requires consent for "${consent.purpose}"; the event was not stored` }],
        });
        results[i] = { status: 'rejected', reason: 'CONSENT_REQUIRED', eventId: input.id, tenantId, leads: [], effects: [] };
        continue;
      }
      pushTo(byTenant, tenantId, i);
    }
    for (const [tenantId, indexes] of byTenant) {
      // A copy: a batch that has to wait may read it after the caller has reused its array.
      const batch = indexes.map((i) => inputs[i] as EventInput);
      const out = (yield this.tenantBatch(tenantId, batch, emit)) as TrackResult[];
      indexes.forEach((index, k) => (results[index] = out[k] as TrackResult));
    }
    return results;
  }

  /**
   * One tenant's batch, retried on conflicts. On the memory store, when no track call of this
   * engine holds the lock, it runs synchronously to the end (see {@link MemoryStore.syncAccess}):
   * no other call can start meanwhile, so it needs no lock. Otherwise calls for the same people
   * in this process take turns through the lock. A batch that loses a version check (to another
   * process, another engine on the same store, or code it called itself) re-reads and retries,
   * at most `maxConflictRetries` attempts in all.
   */
  private tenantBatch(tenantId: string, batch: readonly EventInput[], emit: (events: LifecycleEvent[]) => void): TrackResult[] | Promise<TrackResult[]> {
    // A listener of a batch running synchronously that tracks again waits for that batch to end,
    // as the lock makes it wait on other stores.
    if (this.syncBatch) return this.syncBatchEnd().then(() => this.tenantBatch(tenantId, batch, emit));
    const sync = this.store instanceof MemoryStore ? this.store.syncAccess() : undefined;
    let first = 1;
    if (sync && this.locks.idle) {
      try {
        return this.runSyncBatch(tenantId, batch, emit, sync);
      } catch (error) {
        this.retryOrThrow(error, tenantId, 1, batch.length);
        first = 2;
      }
    }
    const keys = [...new Set(batch.map((e) => `${tenantId}\u0000${e.subjectId ?? `anon:${e.anonymousId}`}`))];
    return this.locks.runAll(keys, async () => {
      if (first > 1) await conflictBackoff(1);
      for (let attempt = first; ; attempt++) {
        try {
          // Asked again for each attempt: the synchronous path is offered only while no other
          // batch has event ids claimed (see `MemoryStore.syncAccess`).
          const access = sync ? (this.store as MemoryStore).syncAccess() : undefined;
          return access ? this.runSyncBatch(tenantId, batch, emit, access) : await drive(this.trackBatch(tenantId, batch, emit, this.store));
        } catch (error) {
          this.retryOrThrow(error, tenantId, attempt, batch.length);
          await conflictBackoff(attempt);
        }
      }
    });
  }

  /**
   * After a failed attempt at a batch: rethrows unless it lost to another writer and attempts
   * are left. Either kind of conflict means another writer got there first: re-read and try
   * again. A real duplicate is then caught by the id check at the top of the batch (the claim of
   * `trackBatchSync`, or `trackBatch`'s read of the ids that exist).
   */
  private retryOrThrow(error: unknown, tenantId: string, attempt: number, events: number): void {
    if (!isConflict(error) || attempt >= this.maxRetries) throw error;
    this.logger.debug('leadpipe: version conflict, retrying batch', { tenantId, attempt, events });
  }

  /** Runs one attempt at a batch on the memory store's synchronous calls, marking it as running (see {@link Engine.tenantBatch}). */
  private runSyncBatch(tenantId: string, batch: readonly EventInput[], emit: (events: LifecycleEvent[]) => void, sync: SyncStoreAccess): TrackResult[] {
    const run: SyncBatch = {};
    this.syncBatch = run;
    try {
      return this.trackBatchSync(tenantId, batch, emit, sync);
    } finally {
      this.syncBatch = undefined;
      run.end?.();
    }
  }

  /** A promise of the end of the batch running synchronously now. */
  private syncBatchEnd(): Promise<void> {
    const run = this.syncBatch as SyncBatch;
    return (run.ended ??= new Promise<void>((resolve) => (run.end = resolve)));
  }

  /**
   * One attempt at a tenant's batch on a {@link Store}: read, fold every event in order, commit
   * once, then emit. Each store call is yielded and awaited by {@link drive}. The memory store's
   * synchronous calls run the same steps in {@link Engine.trackBatchSync}.
   *
   * The work between the store calls is done by plain methods on one {@link BatchFold}: a
   * generator object holds every register of its body, and with the fold written inline this one
   * had 82 (~0.7 KB per call).
   */
  private *trackBatch(tenantId: string, inputs: readonly EventInput[], emit: (events: LifecycleEvent[]) => void, store: Store): Generator<unknown, TrackResult[], unknown> {
    const now = this.clock.now();
    // Each store call is waited for with a plain `yield` (see `drive`): a helper generator per
    // wait (`yield* awaited(…)`) cost a generator object and two iterator results each.
    const existing = (yield store.existingEventIds(tenantId, inputs.map((e) => e.id))) as ReadonlySet<string>;
    // Made only when there are anonymous events. Indexed: a for-of loop with a `yield` in it keeps
    // its iterator across the yields, which costs an iterator result object per event.
    let aliases: Map<string, string | undefined> | undefined;
    for (let i = 0; i < inputs.length; i++) {
      const anonymousId = anonymousIdOf(inputs[i] as EventInput, aliases);
      if (anonymousId !== undefined) (aliases ??= new Map()).set(anonymousId, (yield store.resolveAlias(tenantId, anonymousId)) as string | undefined);
    }
    const plan = this.planBatch(tenantId, inputs, now, existing, undefined, aliases);
    const fold = this.startFold(plan, (yield Promise.all(this.readsFor(plan, store, false))) as BatchReads, emit);
    // Fold in input order; an event that sorts before its lead's cursor stops the in-order fold
    // until its lead's history is read.
    for (let i = this.foldInOrder(fold); i < inputs.length; i = this.foldInOrder(fold)) {
      this.foldLate(fold, i, (yield this.historyOf(fold, i, store)) as StoredEvent[]);
    }
    if (plan.fresh > 0) yield store.commit(commitOf(fold));
    emit(fold.lifecycle);
    return fold.results;
  }

  /**
   * {@link Engine.trackBatch} on the memory store's synchronous calls, as a plain method: the
   * generator object, its iterator results and the driving loop were ~0.5 KB of each single
   * `track()` call's garbage (sampled). The batch's ids are claimed at once (one hash operation
   * per event instead of a check now and an add at the commit; see
   * `SyncStoreAccess.claimEventIds`) and given back if the batch does not commit.
   */
  private trackBatchSync(tenantId: string, inputs: readonly EventInput[], emit: (events: LifecycleEvent[]) => void, store: SyncStoreAccess): TrackResult[] {
    const now = this.clock.now();
    const duplicates = store.claimEventIds(tenantId, inputs);
    let fold: BatchFold;
    let committed = false;
    try {
      let aliases: Map<string, string | undefined> | undefined;
      for (let i = 0; i < inputs.length; i++) {
        const anonymousId = anonymousIdOf(inputs[i] as EventInput, aliases);
        if (anonymousId !== undefined) (aliases ??= new Map()).set(anonymousId, store.resolveAlias(tenantId, anonymousId));
      }
      const plan = this.planBatch(tenantId, inputs, now, undefined, duplicates, aliases);
      fold = this.startFold(plan, this.readsFor(plan, store, true) as unknown as BatchReads, emit);
      for (let i = this.foldInOrder(fold); i < inputs.length; i = this.foldInOrder(fold)) this.foldLate(fold, i, this.historyOf(fold, i, store) as StoredEvent[]);
      if (plan.fresh > 0) {
        store.commit(commitOf(fold));
        committed = true;
      }
    } finally {
      // Also when nothing was committed (every event a duplicate): the claim is closed either way.
      if (!committed) store.releaseEventIds();
    }
    emit(fold.lifecycle);
    return fold.results;
  }

  /** The store call reading the history of the lead of event `i` (its person's events, of its target when the lead key has one). */
  private historyOf(fold: BatchFold, i: number, store: TrackStore): StoredEvent[] | Promise<StoredEvent[]> {
    const event = fold.events[i] as StoredEvent;
    return store.subjectEvents(fold.tenantId, event.subjectRef, this.runtime.leadKeyHasTarget ? event.targetId : undefined);
  }

  /**
   * Builds the stored events of a batch and finds the leads and people they touch. Duplicates are
   * the inputs `claimed` marks (ids claimed, see {@link Engine.trackBatchSync}), or else those whose id
   * is in `existing` or repeats an earlier input's.
   */
  private planBatch(tenantId: string, inputs: readonly EventInput[], now: number, existing: ReadonlySet<string> | undefined, claimed: readonly boolean[] | undefined, aliases: Map<string, string | undefined> | undefined): BatchPlan {
    const rt = this.runtime;
    const events: Array<StoredEvent | undefined> = new Array(inputs.length);
    const eventLeads: Array<number | undefined> = new Array(inputs.length);
    // Made only for a batch of several events whose ids were not claimed.
    const seen = existing !== undefined && inputs.length > 1 ? new Set<string>() : undefined;
    // Each lead and subject once, in first-seen order, in arrays of the batch's size trimmed at the
    // end. Repeats are found by a Map (lead id → position) and a Set, made only for a batch of
    // several events: one event repeats nothing (the two Sets made then, and the array a spread of
    // one made for the read, were ~0.25 KB per single `track()`, sampled).
    const leadIds: string[] = new Array(inputs.length);
    const subjects: string[] = new Array(inputs.length);
    const repeats = inputs.length > 1 ? { leads: new Map<string, number>(), subjects: new Set<string>() } : undefined;
    let leadCount = 0;
    let subjectCount = 0;
    let fresh = 0;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as EventInput;
      if (existing !== undefined ? existing.has(input.id) || (seen !== undefined && !added(seen, input.id)) : claimed?.[i] === true) continue;
      fresh++;
      const event = storedEvent(input, tenantId, input.subjectId ?? aliases?.get(input.anonymousId as string) ?? `anon:${input.anonymousId}`, now);
      events[i] = event;
      const leadId = rt.signals.has(event.type) ? leadIdOf(rt, event) : undefined;
      if (leadId !== undefined) {
        let lead = repeats?.leads.get(leadId);
        if (lead === undefined) {
          lead = leadCount++;
          leadIds[lead] = leadId;
          repeats?.leads.set(leadId, lead);
        }
        eventLeads[i] = lead;
        if (!event.subjectRef.startsWith('anon:') && (!repeats || added(repeats.subjects, event.subjectRef))) subjects[subjectCount++] = event.subjectRef;
      }
    }
    leadIds.length = leadCount;
    subjects.length = subjectCount;
    return { tenantId, inputs, now, events, fresh, eventLeads, leadIds, subjects };
  }

  /**
   * The store calls of a planned batch's reads (see {@link BatchReads}), made at once: they are
   * independent, so an asynchronous store serves them together. A method of its own, and an array
   * of the exact size: each local of `trackBatch` is a register its generator object keeps (its
   * object went from 408 to 344 bytes, sampled), and the array literal grew on its first `push`.
   */
  private readsFor(plan: BatchPlan, store: TrackStore, sync: boolean): unknown[] {
    const { tenantId, leadIds } = plan;
    const reads: unknown[] = new Array(2 + plan.subjects.length);
    // `readLeads` on the memory store's synchronous access only (`sync`), not wherever a method of
    // that name exists: a Store of another kind may have one with another contract.
    reads[0] = leadIds.length === 0 ? NO_LEADS : sync ? (store as SyncStoreAccess).readLeads(tenantId, leadIds) : (store as Store).getLeads(tenantId, leadIds);
    reads[1] = leadIds.length > 0 ? this.readCounters(tenantId, store) : NO_COUNTERS;
    for (let k = 0; k < plan.subjects.length; k++) reads[2 + k] = store.getProfile(tenantId, plan.subjects[k] as string);
    return reads;
  }

  /** Starts folding a planned batch with what was read for it (see {@link Engine.readsFor}). */
  private startFold(plan: BatchPlan, reads: BatchReads, emit: (events: LifecycleEvent[]) => void): BatchFold {
    // By position in `leadIds`, as the batch keeps its working leads (a Store's `getLeads` answers with a Map).
    const read = reads[0];
    // The fold's own array, which it writes (it drops each lead read after the lead's first step):
    // the memory store's synchronous read makes a new one per call, and a Store's Map is turned
    // into one here. The shared frozen NO_LEADS is read only for a batch that scores no lead, so
    // nothing writes it.
    const stored = Array.isArray(read) ? read : plan.leadIds.map((id) => (read as ReadonlyMap<string, PriorLead>).get(id));
    const expected: Array<number | null> = new Array(stored.length);
    for (let k = 0; k < stored.length; k++) expected[k] = stored[k]?.version ?? null;
    const counters = reads[1];
    // Made only when someone has a profile (an empty Map per call otherwise).
    let profiles: Map<string, Record<string, unknown>> | undefined;
    for (let k = 2; k < reads.length; k++) {
      const p = reads[k] as Profile | undefined;
      if (p) (profiles ??= new Map()).set(p.subjectId, p.traits);
    }
    const listening = emit !== this.emitAllBound || this.eventNames().length > 0;
    // The plan's fields written out: a spread of it here allocated ~8 KB per batch (sampled).
    const { tenantId, inputs, now, events, fresh, eventLeads, leadIds, subjects } = plan;
    return {
      tenantId,
      inputs,
      now,
      events,
      fresh,
      eventLeads,
      leadIds,
      subjects,
      stored,
      expected,
      counters,
      profiles,
      working: new Array(leadIds.length),
      earlier: undefined,
      results: new Array(inputs.length),
      effects: [],
      audit: [],
      lifecycle: [],
      listening,
      // One context for the whole batch; `profile` changes from event to event (and the fields of
      // `facts`, written by each step), `counters` when a step first changes one or a replay sets them.
      // The counters read are shared: the first step that changes one copies them (see `StepContext.counters`).
      ctx: { profile: undefined, counters, countersOwned: false, now, lifecycle: listening, facts: this.stepFacts },
      next: 0,
    };
  }

  /**
   * Folds the batch's events from `fold.next` on, in input order, into their working leads. Every
   * event of `fold.events` is committed (see {@link commitOf}): each one not a duplicate is folded
   * here or by `foldLate`, or stored as scoring no lead. Stops
   * at an event that sorts before its lead's cursor and returns its index (the caller reads the
   * lead's history and folds that event with {@link Engine.foldLate}, which moves `fold.next`
   * past it), or returns the batch's length when done.
   */
  private foldInOrder(fold: BatchFold): number {
    const { inputs, events, eventLeads, leadIds, results, tenantId, ctx } = fold;
    for (let i = fold.next; i < inputs.length; i++) {
      const event = events[i];
      if (!event) {
        const input = inputs[i] as EventInput;
        this.emit('event.duplicate', { eventId: input.id, tenantId });
        results[i] = { status: 'duplicate', eventId: input.id, tenantId, leads: [], effects: [] };
        continue;
      }
      const k = eventLeads[i];
      if (k === undefined) {
        if (fold.listening) fold.lifecycle.push({ type: 'event.tracked', payload: { event, leadIds: [] } });
        results[i] = { status: 'stored', eventId: event.id, tenantId, leads: [], effects: [] };
        continue;
      }
      const previous = fold.working[k] ?? fold.stored[k];
      if (previous && !isAfter(event, previous.cursor)) return i;
      ctx.profile = fold.profiles?.get(event.subjectRef);
      const step = applyEvent(this.runtime, previous, event, leadIds[k] as string, ctx);
      this.foldedEvent(fold, i, previous, step.lead, [step], false);
    }
    fold.next = inputs.length;
    return inputs.length;
  }

  /** Folds event `i`, which sorts before its lead's cursor, by replaying the lead's `history` (from the store) with it in canonical order. */
  private foldLate(fold: BatchFold, i: number, history: StoredEvent[]): void {
    const event = fold.events[i] as StoredEvent;
    const k = fold.eventLeads[i] as number;
    const previous = (fold.working[k] ?? fold.stored[k]) as PriorLead;
    fold.ctx.profile = fold.profiles?.get(event.subjectRef);
    // The batch's earlier events by lead are indexed at the first replay only (kept for every
    // event, the lists were ~100 bytes of garbage per event; found by a scan per replay, a
    // shuffled backfill would cost a quadratic number of comparisons).
    if (!fold.earlier) {
      fold.earlier = new Map();
      for (let j = 0; j < i; j++) if (fold.eventLeads[j] !== undefined) pushTo(fold.earlier, fold.eventLeads[j] as number, fold.events[j] as StoredEvent);
    }
    const replay = this.replay(fold.leadIds[k] as string, [...history, ...(fold.earlier.get(k) ?? []), event], previous, previous, fold.ctx, fold.ctx.counters);
    // A new Map, the fold's own from here on.
    fold.ctx.counters = replay.counters;
    fold.ctx.countersOwned = true;
    this.foldedEvent(fold, i, previous, replay.lead as LeadState, replay.steps, true);
    fold.next = i + 1;
  }

  /** Records what folding event `i` into its lead made: the event to commit, the working lead, deliveries, audit, lifecycle events and the event's result. */
  private foldedEvent(fold: BatchFold, i: number, previous: PriorLead | undefined, lead: LeadState, steps: StepResult[], replayed: boolean): void {
    const event = fold.events[i] as StoredEvent;
    const k = fold.eventLeads[i] as number;
    if (fold.earlier) pushTo(fold.earlier, k, event);
    // `lead` is the step's own new object, not shared with anything committed yet: the version
    // and delivery record are set on it in place (each copy here was a full lead per event).
    lead.version = (previous?.version ?? 0) + 1;
    const delivery = this.deliver(lead, previous, steps, fold.now);
    fold.working[k] = lead;
    fold.stored[k] = undefined;
    // Indexed: `delivery.effects` is usually a shared frozen empty array (for-of would allocate an iterator).
    for (let k = 0; k < delivery.effects.length; k++) fold.effects.push(delivery.effects[k] as DeliveryEffect);
    if (lead.stageHistory !== previous?.stageHistory) this.auditFor(lead, previous, fold.now, fold.audit);
    // Payloads are built only when someone listens: on the hot path with no listeners this
    // saved about a fifth of the allocations per event.
    if (fold.listening) {
      if (replayed) fold.lifecycle.push(...this.replayLifecycle(lead, previous, delivery.routed, event.id));
      else for (const e of (steps[0] as StepResult).lifecycle) fold.lifecycle.push(e);
      fold.lifecycle.push({ type: 'event.tracked', payload: { event, leadIds: [fold.leadIds[k] as string] } });
    }
    const last = steps[steps.length - 1];
    const effects = delivery.effects.length > 0 ? delivery.effects : [];
    // `routing` is in the literal: set afterwards, it made each result allocate a property array
    // (~32 bytes per event, sampled).
    const result: TrackResult = last ? { status: 'processed', eventId: event.id, tenantId: fold.tenantId, leads: [lead], routing: last.routing, effects } : { status: 'processed', eventId: event.id, tenantId: fold.tenantId, leads: [lead], effects };
    if (replayed) result.replayed = true;
    fold.results[i] = result;
  }

  /**
   * Replays a lead from events, keeping host stage changes, sticky owners and known routes of
   * `basis` (its earlier state). Returns the counters as they must be after the commit.
   *
   * Owner loads are recounted explicitly rather than through the replay's increments: the lead
   * counted once per owner before (if it was open), and counts once per owner after (if open).
   */
  private replay(leadId: string, events: StoredEvent[], counted: PriorLead | undefined, basis: PriorLead | undefined, ctx: StepContext, counters: ReadonlyMap<string, number>) {
    const closed = this.runtime.routing?.closedStages;
    const ownersOf = (lead: PriorLead | undefined) => (lead && !closed?.has(lead.stage) ? new Set(lead.routes.map((r) => r.ownerId)) : new Set<string>());
    const before = ownersOf(counted);
    // Capacity checks during the replay must not see this lead's own earlier load.
    const working = new Map(counters);
    for (const owner of before) working.set(loadKey(owner), (working.get(loadKey(owner)) ?? 0) - 1);
    const hostTransitions = basis?.stageHistory.filter((t) => t.cause === 'host') ?? [];
    const replayCtx: StepContext = { ...ctx, counters: working, countersOwned: true, ...(basis ? { assignments: basis.assignments } : {}) };
    const { lead, steps } = foldLead(this.runtime, leadId, events, replayCtx, { hostTransitions, ...(basis ? { createdAt: basis.createdAt } : {}) });
    const result = new Map(counters);
    for (const [key, value] of replayCtx.counters) if (key.startsWith('rr:')) result.set(key, value);
    const after = ownersOf(lead);
    for (const owner of new Set([...before, ...after])) {
      const delta = (after.has(owner) ? 1 : 0) - (before.has(owner) ? 1 : 0);
      if (delta !== 0) result.set(loadKey(owner), (result.get(loadKey(owner)) ?? 0) + delta);
    }
    return { lead, steps, counters: result };
  }

  /** The counters routing may read (see `counterKeys`), through `store` (the engine's by default). */
  private readCounters(tenantId: string, store: TrackStore = this.store): ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>> {
    // No counters to read (a config without capacity or round-robin routing): one shared empty Map, never written.
    if (this.counterKeys.length === 0) return NO_COUNTERS;
    return store.getCounters(tenantId, this.counterKeys);
  }

  /**
   * Delivery effects for routes the new state has and the previous state did not, and the lead
   * with its `delivered` record updated. A new route is not delivered when the owner already got
   * this lead within the dedupe window (a replay can move a routing decision to another event):
   * the same lead never reaches the same owner twice inside the window.
   */
  private deliver(lead: LeadState, previous: PriorLead | undefined, steps: StepResult[], now: number): { effects: DeliveryEffect[]; routed: RouteRecord[] } {
    // What was delivered before: a replay rebuilds the lead from its events, but deliveries
    // already made stay made.
    const original = previous ? previous.delivered : lead.delivered;
    lead.delivered = original;
    // A step that routes nobody keeps its predecessor's routes array: nothing to deliver.
    if (lead.routes === previous?.routes || lead.routes.length === 0) return NO_DELIVERIES;
    const before = previous?.routes ?? [];
    const window = this.runtime.routing?.dedupeWindowMs ?? 0;
    let delivered = original;
    const effects: DeliveryEffect[] = [];
    const routed: RouteRecord[] = [];
    // Routes the previous state had were delivered (or deliberately not) when they were made. A
    // step appends its routes to its predecessor's, so that shared prefix is skipped by identity
    // and only the step's new routes are looked up; a replay rebuilds every route, and each is
    // looked up among the earlier ones (quadratic in a lead's routes, as the replay's own routing
    // already is: each step scans the routes for the dedupe window). A Set of string keys and a
    // Map of sinks built for every routed event were most of this method's own time: 5.7 · 4.7 →
    // 2.3 · 2.8 µs per routed event (CPU profile of the routed events among 800k tour events, two
    // runs each way).
    let k = 0;
    while (k < before.length && k < lead.routes.length && lead.routes[k] === before[k]) k++;
    for (; k < lead.routes.length; k++) {
      const r = lead.routes[k] as RouteRecord;
      if (hasRoute(before, r)) continue;
      if (deliveredWithin(delivered, r, window)) continue;
      // Copied on first write: `delivered` may still be the array of the committed previous state.
      if (delivered === original) delivered = [...delivered];
      delivered.push({ ownerId: r.ownerId, at: r.at });
      routed.push(r);
      effects.push({
        kind: 'delivery',
        // One flat string (a template literal kept a chain of four cons strings, ~100 bytes more per effect).
        id: ['dlv', lead.tenantId, lead.id, r.ownerId, r.eventId].join(':'),
        tenantId: lead.tenantId,
        leadId: lead.id,
        ownerId: r.ownerId,
        routedAt: r.at,
        sink: sinkOf(steps, r),
        payload: snapshot(lead),
        createdAt: now,
      });
    }
    lead.delivered = delivered;
    return { effects, routed };
  }

  /** Lifecycle events of a replay: the final score, stage changes it added, and the routes it delivered. */
  private replayLifecycle(lead: LeadState, previous: PriorLead | undefined, routed: RouteRecord[], eventId: string): LifecycleEvent[] {
    const out: LifecycleEvent[] = [];
    if (!previous) out.push({ type: 'lead.created', payload: { lead } });
    out.push({ type: 'lead.scored', payload: { lead, previousScore: previous?.score ?? 0, eventId } });
    const seen = new Set(previous?.stageHistory.map((t) => `${t.to}\u0000${t.eventId}\u0000${t.cause}`) ?? []);
    for (const t of lead.stageHistory) {
      if (t.cause === 'created' || seen.has(`${t.to}\u0000${t.eventId}\u0000${t.cause}`)) continue;
      out.push({ type: 'lead.stage_changed', payload: { lead, transition: t } });
    }
    for (const route of routed) out.push({ type: 'lead.routed', payload: { lead, route } });
    return out;
  }

  /** Appends an audit entry to `out` for each stage change `lead` has beyond `previous`. */
  private auditFor(lead: LeadState, previous: PriorLead | undefined, now: number, out: AuditEntry[]): void {
    for (let k = previous?.stageHistory.length ?? 0; k < lead.stageHistory.length; k++) {
      const t = lead.stageHistory[k] as StageTransition;
      out.push({
        tenantId: lead.tenantId,
        at: now,
        action: 'lead.stage_changed',
        leadId: lead.id,
        subjectRef: lead.subjectRef,
        data: { from: t.from, to: t.to, cause: t.cause, eventId: t.eventId, occurredAt: t.at },
      });
    }
  }

  /**
   * Links an anonymous id to a subject: the anonymous history moves to the subject, the
   * subject's leads are replayed from the merged history (so caps, decay and routing see one
   * person), and `traits` are merged into the profile. Everything commits at once.
   */
  async identify(input: IdentifyInput): Promise<{ tenantId: string; subjectId: string; leads: LeadState[]; effects: Effect[] }> {
    const issues: Issue[] = [];
    if (typeof input?.subjectId !== 'string' || input.subjectId === '') issues.push({ path: 'subjectId', message: 'required: the known id of the person' });
    if (input?.anonymousId !== undefined && (typeof input.anonymousId !== 'string' || input.anonymousId === '')) issues.push({ path: 'anonymousId', message: 'must be a non-empty string' });
    if (input?.traits !== undefined && (typeof input.traits !== 'object' || input.traits === null || Array.isArray(input.traits))) issues.push({ path: 'traits', message: 'must be an object of profile facts' });
    if (issues.length > 0) throw new EventError(issues);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.identifyOnce(input);
      } catch (error) {
        if (!isLeadpipeError(error, 'VERSION_CONFLICT') || attempt >= this.maxRetries) throw error;
        await conflictBackoff(attempt);
      }
    }
  }

  private async identifyOnce(input: IdentifyInput) {
    const store = this.store;
    const tenantId = input.tenantId ?? DEFAULT_TENANT;
    const { subjectId, anonymousId } = input;
    const now = this.clock.now();
    if (anonymousId !== undefined) {
      const linked = await store.resolveAlias(tenantId, anonymousId);
      if (linked !== undefined && linked !== subjectId) {
        throw new EventError([{ path: 'anonymousId', message: 'this anonymous id is already identified as another subject; an anonymous id belongs to one person' }]);
      }
    }
    const oldProfile = await store.getProfile(tenantId, subjectId);
    const profile: Profile = { tenantId, subjectId, traits: { ...(oldProfile?.traits ?? {}), ...(input.traits ?? {}) }, updatedAt: now };
    const anonRef = anonymousId !== undefined ? `anon:${anonymousId}` : undefined;
    const anonEvents = anonRef ? await store.subjectEvents(tenantId, anonRef) : [];
    const subjectEvents = await store.subjectEvents(tenantId, subjectId);
    const moved = anonEvents.map((e) => ({ ...e, subjectRef: subjectId, subjectId }));
    const all = [...subjectEvents, ...moved];

    // Leads to replay: every lead id the merged history produces.
    const byLead = new Map<string, StoredEvent[]>();
    for (const e of all) {
      const id = this.runtime.signals.has(e.type) ? leadIdOf(this.runtime, e) : undefined;
      if (id !== undefined) pushTo(byLead, id, e);
    }
    const anonLeadIds = new Set<string>();
    for (const e of anonEvents) {
      const id = this.runtime.signals.has(e.type) ? leadIdOf(this.runtime, e) : undefined;
      if (id !== undefined) anonLeadIds.add(id);
    }
    const [previousLeads, anonLeads, counters] = await Promise.all([
      store.getLeads(tenantId, [...byLead.keys()]),
      store.getLeads(tenantId, [...anonLeadIds]),
      this.readCounters(tenantId),
    ]);
    let working = new Map(counters);
    const writes: CommitBatch['leads'] = [];
    const leads: LeadState[] = [];
    const effects: Effect[] = [];
    const lifecycle: LifecycleEvent[] = [];
    // The anonymous leads are deleted: their open loads go with them.
    const closed = this.runtime.routing?.closedStages;
    for (const anon of anonLeads.values()) {
      if (closed?.has(anon.stage)) continue;
      for (const owner of new Set(anon.routes.map((r) => r.ownerId))) working.set(loadKey(owner), (working.get(loadKey(owner)) ?? 0) - 1);
    }
    for (const [leadId, events] of byLead) {
      const previous = previousLeads.get(leadId);
      const anonPrevious = anonRef ? anonLeads.get(anonRef + leadId.slice(subjectId.length)) : undefined;
      // What the merged lead already did: routes delivered, sticky owners and host stage changes of both.
      const basis = mergeBasis(previous, anonPrevious);
      const ctx: StepContext = { profile: profile.traits, counters: working, now };
      const replay = this.replay(leadId, events, previous, basis, ctx, working);
      working = replay.counters;
      if (!replay.lead) continue;
      const lead: LeadState = { ...replay.lead, version: (previous?.version ?? 0) + 1, createdAt: basis?.createdAt ?? now };
      const delivery = this.deliver(lead, basis, replay.steps, now);
      writes.push({ lead, expectedVersion: previous ? previous.version : null });
      leads.push(lead);
      effects.push(...delivery.effects);
      lifecycle.push(...this.replayLifecycle(lead, basis, delivery.routed, lead.cursor.id));
    }
    await store.commit({
      tenantId,
      events: [],
      leads: writes,
      deleteLeads: [...anonLeads.values()].map((l) => ({ id: l.id, expectedVersion: l.version })),
      effects,
      audit: [
        {
          tenantId,
          at: now,
          action: 'subject.identified',
          subjectRef: subjectId,
          data: { anonymousId: anonymousId ?? null, traits: Object.keys(input.traits ?? {}), leads: leads.map((l) => l.id) },
        },
      ],
      ...(anonymousId !== undefined ? { aliases: [{ anonymousId, subjectId }] } : {}),
      profiles: [profile],
      counters: counterDeltas(counters, working),
    });
    this.emitAll(lifecycle);
    if (anonymousId !== undefined) this.emit('subject.identified', { tenantId, anonymousId, subjectId, leadIds: leads.map((l) => l.id) });
    return { tenantId, subjectId, leads, effects };
  }

  /**
   * Moves a lead to a stage on the host's word (an operator accepted it, a deal closed). Any
   * direction is allowed; the change is recorded with `cause: 'host'` and kept across replays.
   * Moving into or out of a closed stage updates the owners' open-lead counts.
   */
  async setStage(ref: LeadRef, stage: string, options: { reason?: string } = {}): Promise<LeadState> {
    if (!this.runtime.stageIndex.has(stage)) {
      throw new EventError([{ path: 'stage', message: `unknown stage "${stage}": stages are ${this.runtime.stages.map((s) => `"${s}"`).join(', ')}` }]);
    }
    const tenantId = ref.tenantId ?? DEFAULT_TENANT;
    const leadId = this.leadId(ref);
    for (let attempt = 1; ; attempt++) {
      const previous = await this.store.getLead(tenantId, leadId);
      if (!previous) throw new NotFoundError(`no lead "${leadId}" in tenant "${tenantId}"`, { leadId, tenantId });
      const now = this.clock.now();
      const transition: StageTransition = { from: previous.stage, to: stage, at: now, cause: 'host', ...(options.reason ? { eventId: options.reason } : {}) };
      const lead: LeadState = { ...previous, stage, stageHistory: [...previous.stageHistory, transition], version: previous.version + 1, updatedAt: now };
      const closed = this.runtime.routing?.closedStages;
      const wasOpen = !closed?.has(previous.stage);
      const isOpen = !closed?.has(stage);
      const owners = new Set(previous.routes.map((r) => r.ownerId));
      const counters = wasOpen === isOpen ? [] : [...owners].map((o) => ({ key: loadKey(o), delta: isOpen ? 1 : -1 }));
      try {
        await this.store.commit({
          tenantId,
          events: [],
          leads: [{ lead, expectedVersion: previous.version }],
          effects: [],
          counters,
          audit: [{ tenantId, at: now, action: 'lead.stage_changed', leadId, subjectRef: lead.subjectRef, data: { from: previous.stage, to: stage, cause: 'host', reason: options.reason ?? null } }],
        });
        this.emit('lead.stage_changed', { lead, transition });
        return lead;
      } catch (error) {
        if (!isLeadpipeError(error, 'VERSION_CONFLICT') || attempt >= this.maxRetries) throw error;
      }
    }
  }

  /** The current state of a lead, or undefined. */
  async getLead(ref: LeadRef): Promise<LeadState | undefined> {
    return this.store.getLead(ref.tenantId ?? DEFAULT_TENANT, this.leadId(ref));
  }

  /**
   * Explains a lead: the score breakdown (as of its last event, or decayed to `at`), every
   * qualification rule with each condition's fact value and result, the stage history, and
   * what routing would decide now and why.
   */
  async explain(ref: LeadRef, options: { at?: number | string } = {}): Promise<Explanation> {
    const tenantId = ref.tenantId ?? DEFAULT_TENANT;
    const leadId = this.leadId(ref);
    const stored = await this.store.getLead(tenantId, leadId);
    if (!stored) throw new NotFoundError(`no lead "${leadId}" in tenant "${tenantId}"`, { leadId, tenantId });
    const rt = this.runtime;
    const history = await this.store.subjectEvents(tenantId, stored.subjectRef, stored.targetId);
    const lastEvent = [...history].reverse().find((e) => e.id === stored.cursor.id) ?? history[history.length - 1];
    const profile = stored.subjectRef.startsWith('anon:') ? undefined : (await this.store.getProfile(tenantId, stored.subjectRef))?.traits;
    const at = options.at === undefined ? stored.lastSeenAt : toEpoch(options.at);
    let lead = stored;
    const ef = eventFacts(rt, lastEvent ?? syntheticEvent(stored), profile);
    if (at > stored.lastSeenAt) {
      // Decay to the requested time; caps and windows are applied as they would be at `at`.
      const scoring = advance(rt, stored.scoring, stored.lastSeenAt, at);
      const scored = computeScore(rt, scoring, rt.fit.length > 0 ? fitPoints(rt, ef as unknown as Facts) : []);
      lead = { ...stored, scoring, score: scored.score, components: scored.components, breakdown: scored.breakdown };
    }
    const facts = leadFacts(lead, ef);
    const rules = rt.qualification.map((r) => {
      const conditions = r.condition ? r.condition.explain(facts) : null;
      return {
        name: r.name,
        priority: r.priority,
        ...(r.def.stage !== undefined ? { stage: r.def.stage } : {}),
        ...(r.def.tier !== undefined ? { tier: r.def.tier } : {}),
        result: conditions ? conditions.result : true,
        conditions,
      };
    });
    const counters = await this.readCounters(tenantId);
    const decision = route(rt, { lead, facts, at, eventId: lead.cursor.id, counters });
    return {
      lead,
      at,
      score: { value: lead.score, components: lead.components, breakdown: lead.breakdown },
      rules,
      stageHistory: lead.stageHistory,
      routing: { decision, routes: lead.routes },
      facts,
    };
  }

  /**
   * Runs events through the whole pipeline with no side effects (the rules' test mode): a
   * scratch memory store is seeded with the current state of the subjects involved, and
   * nothing is written to this engine's store, no effect is dispatched and no listener fires.
   */
  async simulate(inputs: readonly EventInput[], options: { from?: 'current' | 'empty' } = {}): Promise<SimulationResult> {
    const issues: Issue[] = [];
    inputs.forEach((e, i) => issues.push(...eventIssues(e, `[${i}]`)));
    if (issues.length > 0) throw new EventError(issues);
    const scratch = new MemoryStore();
    if ((options.from ?? 'current') === 'current') await this.seed(scratch, inputs);
    const shadow = new Engine({ config: this.config, store: scratch, clock: this.clock, logger: this.logger, maxConflictRetries: this.maxRetries });
    (shadow as { runtime: Runtime }).runtime = this.runtime;
    const events: LifecycleEvent[] = [];
    const results: TrackResult[] = [];
    for (const input of inputs) results.push(...(await shadow.trackValid([input], (e) => events.push(...e))));
    const touched = new Map<string, LeadState>();
    for (const r of results) for (const l of r.leads) touched.set(`${l.tenantId}\u0000${l.id}`, l);
    return { results, leads: [...touched.values()], effects: results.flatMap((r) => r.effects), events };
  }

  /** Copies what simulated events can touch (their subjects' events, leads, profiles, aliases; counters) into a scratch store. */
  private async seed(scratch: MemoryStore, inputs: readonly EventInput[]): Promise<void> {
    const bySubject = new Map<string, { tenantId: string; subjectRef: string; anonymousId?: string }>();
    for (const e of inputs) {
      const tenantId = e.tenantId ?? DEFAULT_TENANT;
      let subjectRef = e.subjectId;
      if (subjectRef === undefined && e.anonymousId !== undefined) subjectRef = (await this.store.resolveAlias(tenantId, e.anonymousId)) ?? `anon:${e.anonymousId}`;
      if (subjectRef === undefined) continue;
      bySubject.set(`${tenantId}\u0000${subjectRef}`, { tenantId, subjectRef, ...(e.anonymousId !== undefined ? { anonymousId: e.anonymousId } : {}) });
    }
    const tenants = new Set([...bySubject.values()].map((s) => s.tenantId));
    for (const tenantId of tenants) {
      const counters = await this.readCounters(tenantId);
      if (counters.size > 0) await scratch.commit({ tenantId, events: [], leads: [], effects: [], counters: [...counters].map(([key, delta]) => ({ key, delta })) });
    }
    for (const { tenantId, subjectRef, anonymousId } of bySubject.values()) {
      const events = await this.store.subjectEvents(tenantId, subjectRef);
      const leadIds = new Set(events.map((e) => (this.runtime.signals.has(e.type) ? leadIdOf(this.runtime, e) : undefined)).filter((id): id is string => id !== undefined));
      const leads = await this.store.getLeads(tenantId, [...leadIds]);
      const profile = subjectRef.startsWith('anon:') ? undefined : await this.store.getProfile(tenantId, subjectRef);
      await scratch.commit({
        tenantId,
        events,
        leads: [...leads.values()].map((lead) => ({ lead, expectedVersion: null })),
        effects: [],
        ...(profile ? { profiles: [profile] } : {}),
      });
      if (anonymousId !== undefined && !subjectRef.startsWith('anon:')) {
        await scratch.commit({ tenantId, events: [], leads: [], effects: [], aliases: [{ anonymousId, subjectId: subjectRef }] });
      }
    }
  }

  /**
   * Performs pending effects from the outbox once: claims up to `limit`, hands deliveries to
   * their sink, marks them done, or schedules a retry with backoff (dead after `maxAttempts`,
   * or at once for a non-retryable `DeliveryError`). At-least-once: a worker that dies
   * mid-delivery leaves the claim to expire, and the effect is delivered again with the same
   * idempotency key. Returns how many effects were claimed.
   */
  async dispatch(options: DispatchOptions = {}): Promise<{ claimed: number; done: number; failed: number }> {
    const now = this.clock.now();
    const maxAttempts = options.maxAttempts ?? 8;
    const backoff = options.backoffMs ?? ((n: number) => Math.min(3_600_000, 1000 * 2 ** (n - 1)));
    const entries = await this.store.claimEffects({ worker: options.worker ?? 'engine', limit: options.limit ?? 100, now, leaseMs: options.leaseMs ?? 30_000 });
    let done = 0;
    let failed = 0;
    for (const entry of entries) {
      const effect = entry.effect;
      try {
        if (effect.kind !== 'delivery') throw new DeliveryError(`no handler for "${effect.kind}" effects yet`, { retryable: true });
        const sink = this.sinks[effect.sink];
        if (!sink) throw new DeliveryError(`no sink named "${effect.sink}": pass it in createEngine({ sinks: { "${effect.sink}": … } })`, { retryable: true });
        await sink.upsert(effect.payload, { ownerId: effect.ownerId, idempotencyKey: effect.id });
        await this.store.completeEffect(effect.id);
        done++;
        this.emit('lead.delivered', { effect });
      } catch (error) {
        failed++;
        const message = error instanceof Error ? error.message : String(error);
        const retryable = !(error instanceof DeliveryError) || error.retryable;
        const willRetry = retryable && entry.attempts < maxAttempts;
        await this.store.failEffect(effect.id, message, willRetry ? now + backoff(entry.attempts) : null);
        this.emit('lead.delivery_failed', { effect, error: message, willRetry });
      }
    }
    return { claimed: entries.length, done, failed };
  }

  private emitAll(events: LifecycleEvent[]): void {
    for (const e of events) {
      try {
        (this.emit as (name: string, payload: unknown) => boolean)(e.type, e.payload);
      } catch (error) {
        // A listener's failure must not look like a failed track: the commit already happened.
        this.logger.error('leadpipe: event listener threw', { event: e.type, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}

function isParsed(config: ConfigInput | Config): config is Config {
  return PARSED.has(config as object);
}
const PARSED = new WeakSet<object>();
/** @internal Marks a config object as already validated, so engines built from it skip re-parsing. */
export function markParsed(config: Config): Config {
  PARSED.add(config);
  return config;
}

/** A batch running synchronously; `ended` is made only when a call made from inside it has to wait for it. */
interface SyncBatch {
  ended?: Promise<void>;
  end?: () => void;
}

/** The store calls of the track path: a {@link Store}'s, or the memory store's synchronous ones. */
type TrackStore = Store | SyncStoreAccess;

/** A tenant batch's events, planned before anything is read for them (see {@link Engine.trackBatch}). */
interface BatchPlan {
  readonly tenantId: string;
  readonly inputs: readonly EventInput[];
  readonly now: number;
  /** Each input's stored event; undefined for a duplicate. */
  readonly events: ReadonlyArray<StoredEvent | undefined>;
  /** How many of `events` are not duplicates: every one is committed, in input order (see {@link commitOf}). */
  readonly fresh: number;
  /**
   * Each event's lead as its position in `leadIds` (undefined: it scores no lead), where the fold
   * keeps the lead's state: the lead id is computed once per event (building the key string and
   * hashing it again in the fold cost ~4% of the pipeline).
   */
  readonly eventLeads: ReadonlyArray<number | undefined>;
  /**
   * The leads the batch's events score, each once, in the order first seen: the order of the
   * commit's writes too (the memory store's synchronous read relies on it to reuse its records).
   */
  readonly leadIds: readonly string[];
  /** The known subjects of the events that score, each once: the steps read their profiles. */
  readonly subjects: readonly string[];
}

/**
 * What a batch reads before it folds: its leads (in the order of `leadIds` from the memory store's
 * synchronous read, by id from a Store's), the counters, then each subject's profile (see {@link Engine.readsFor}).
 */
type BatchReads = readonly [Array<PriorLead | undefined> | ReadonlyMap<string, PriorLead>, ReadonlyMap<string, number>, ...Array<Profile | undefined>];

/**
 * A planned batch being folded into its leads: what was read for it and what its events made so
 * far. One object, so that the generator that waits for the store keeps few locals.
 */
interface BatchFold extends BatchPlan {
  /**
   * The leads as read before the batch, at their positions in `leadIds` (undefined: new), each
   * until its first step: then `working` has the lead, and the state read is dropped. Kept to the
   * batch's end, the states read were ~0.4 KB per lead read that every scavenge during a
   * `trackMany` of 1,000 events copied (the batch's objects are live until it commits).
   */
  readonly stored: Array<PriorLead | undefined>;
  /** The version each lead was read at (null: new), which the commit expects to find. */
  readonly expected: ReadonlyArray<number | null>;
  /** The counters as read before the batch (`ctx.counters`: as the batch's steps left them). */
  readonly counters: ReadonlyMap<string, number>;
  readonly profiles: ReadonlyMap<string, Record<string, unknown>> | undefined;
  /**
   * Each lead as the batch's latest event left it, at its position in `leadIds` (an array: a Map
   * here was ~0.2 KB per single `track()` and two hash operations per event).
   */
  readonly working: Array<LeadState | undefined>;
  /** The batch's events by lead (its position in `leadIds`) up to the event being folded, once a replay needed them. */
  earlier: Map<number, StoredEvent[]> | undefined;
  readonly results: TrackResult[];
  readonly effects: Effect[];
  readonly audit: AuditEntry[];
  readonly lifecycle: LifecycleEvent[];
  /** Whether lifecycle events are built: someone listens, or the caller collects them (see `simulate`). */
  readonly listening: boolean;
  readonly ctx: StepContext;
  /** Index of the next input to fold. */
  next: number;
}

/** The commit of a folded batch: its events, each lead it changed (checked against the version read), effects, audit entries and counter changes. */
function commitOf(fold: BatchFold): CommitBatch & { [ENGINE_LEADS]: true } {
  return {
    tenantId: fold.tenantId,
    // Every event that is not a duplicate, in input order: the fold folds or stores each one. With
    // no duplicate the plan's own array is handed over (nothing reads it after the commit).
    events: fold.fresh === fold.events.length ? (fold.events as StoredEvent[]) : fold.events.filter((e): e is StoredEvent => e !== undefined),
    leads: writesOf(fold),
    effects: fold.effects,
    audit: fold.audit,
    // The counters Map read, when no step changed a counter (see `StepContext.counters`).
    counters: fold.ctx.counters === fold.counters ? NO_COUNTER_CHANGES : counterDeltas(fold.counters, fold.ctx.counters),
    // Every lead here was built by the pipeline step (see ENGINE_LEADS); other stores ignore this.
    [ENGINE_LEADS]: true,
  };
}

/** The fold's working leads as the commit's writes, each expecting the version it was read at (null: a new lead). */
function writesOf(fold: BatchFold): CommitBatch['leads'] {
  // An array of the exact size, filled in place: a spread of `values()` then a `map` made an
  // array in between, and a `push` onto an empty array grows it to 17 slots at once.
  // Every lead of `leadIds` has a working state: each one is the lead of an event folded.
  const writes: CommitBatch['leads'] = new Array(fold.working.length);
  for (let k = 0; k < writes.length; k++) {
    const lead = fold.working[k] as LeadState;
    writes[k] = { lead, expectedVersion: fold.expected[k] as number | null };
  }
  return writes;
}

/** The leads of a batch that scores none. */
const NO_LEADS: ReadonlyArray<PriorLead | undefined> = Object.freeze([]);

/** The counter changes of a batch that changed none. */
const NO_COUNTER_CHANGES = Object.freeze([]) as unknown as Array<{ key: string; delta: number }>;

/** The counters of a config that reads none (see `readCounters`): read-only by type. */
const NO_COUNTERS: ReadonlyMap<string, number> = new Map();

/** Appends `value` to the list of `key`, starting the list if there is none. */
function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The anonymous id of an input whose alias is still to be read (`aliases` holds those read so far), or undefined. */
function anonymousIdOf(input: EventInput, aliases: ReadonlyMap<string, string | undefined> | undefined): string | undefined {
  return input.subjectId === undefined && !aliases?.has(input.anonymousId as string) ? (input.anonymousId as string) : undefined;
}

/** True when every input is for the same tenant. */
function oneTenant(inputs: readonly EventInput[]): boolean {
  const tenantId = inputs[0]?.tenantId ?? DEFAULT_TENANT;
  for (let i = 1; i < inputs.length; i++) if (((inputs[i] as EventInput).tenantId ?? DEFAULT_TENANT) !== tenantId) return false;
  return true;
}

/** Adds `value` to `set`; true when it was not there (one hash operation, where `has` then `add` are two). */
function added(set: Set<string>, value: string): boolean {
  const size = set.size;
  return set.add(value).size !== size;
}

/** The result of a one-event batch. */
function firstResult(results: TrackResult[]): TrackResult {
  return results[0] as TrackResult;
}

/** Either kind of conflict: another writer got there first. */
function isConflict(error: unknown): boolean {
  return isLeadpipeError(error, 'VERSION_CONFLICT') || isLeadpipeError(error, 'DUPLICATE_EVENT');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs a generator that yields the values it waits for (`const x = (yield p) as T`): synchronously,
 * handing each plain value straight back, until the first promise; from there on asynchronously,
 * awaiting each yielded value (a rejection is thrown into the generator, where `try` sees it as
 * it would an `await`). It returns a plain value when nothing had to be awaited: a batch of several
 * tenants (`trackGrouped`) on the memory store stays synchronous; `trackBatch`, which serves only
 * stores' promises, goes asynchronous at its first store call.
 */
function drive<T>(g: Generator<unknown, T, unknown>): T | Promise<T> {
  for (let step = g.next(); ; step = g.next(step.value)) {
    if (step.done) return step.value;
    if (isThenable(step.value)) return driveAsync(g, step.value);
  }
}

async function driveAsync<T>(gen: Generator<unknown, T, unknown>, pending: unknown): Promise<T> {
  for (;;) {
    let step: IteratorResult<unknown, T>;
    try {
      const value = await pending;
      step = gen.next(value);
    } catch (error) {
      // Thrown by the awaited value (a store call failed) or by the generator itself: hand the
      // former back to the generator; the latter has already ended it, and `throw` rethrows.
      step = gen.throw(error);
    }
    if (step.done) return step.value;
    pending = step.value;
  }
}

/**
 * Runs async functions one at a time per key. Keys with nothing queued hold no memory.
 * @internal
 */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** True when no key is held. */
  get idle(): boolean {
    return this.tails.size === 0;
  }

  /**
   * Holds every key while `fn` runs: waits for whatever currently holds any of them, and becomes
   * the holder of all of them in one synchronous step, so two batches cannot deadlock. (One
   * promise per batch rather than a chain per key: a 1,000-event batch took 6% of the pipeline's
   * time acquiring keys one by one.)
   */
  async runAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const waits: Array<Promise<unknown>> = [];
    for (const key of keys) {
      const tail = this.tails.get(key);
      if (tail) waits.push(tail);
    }
    const current = waits.length > 0 ? Promise.all(waits).then(fn) : fn();
    const tail = current.catch(() => undefined);
    for (const key of keys) this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      for (const key of keys) if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const current = (previous ? previous.then(fn, fn) : fn()) as Promise<T>;
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Waits a little before retrying a lost race: random, growing with the attempt, so racers spread out. */
function conflictBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The earlier state a merged lead continues from: the subject's lead, with the anonymous lead's routes, owners and host changes added. */
function mergeBasis(subject: LeadState | undefined, anon: LeadState | undefined): LeadState | undefined {
  if (!anon) return subject;
  if (!subject) return anon;
  return {
    ...subject,
    routes: [...subject.routes, ...anon.routes],
    delivered: [...subject.delivered, ...anon.delivered],
    assignments: { ...anon.assignments, ...subject.assignments },
    stageHistory: [...subject.stageHistory, ...anon.stageHistory.filter((t) => t.cause === 'host')],
    createdAt: Math.min(subject.createdAt, anon.createdAt),
  };
}

function counterDeltas(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Array<{ key: string; delta: number }> {
  const out: Array<{ key: string; delta: number }> = [];
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) out.push({ key, delta });
  }
  return out;
}

/** True when `routes` has a route to the same owner made by the same event as `r`. */
function hasRoute(routes: readonly RouteRecord[], r: RouteRecord): boolean {
  for (const p of routes) if (p.ownerId === r.ownerId && p.eventId === r.eventId) return true;
  return false;
}

/** True when the owner of route `r` already got the lead within `window` ms of it. */
function deliveredWithin(delivered: LeadState['delivered'], r: RouteRecord, window: number): boolean {
  for (const d of delivered) if (d.ownerId === r.ownerId && Math.abs(d.at - r.at) < window) return true;
  return false;
}

/**
 * The sink of the last step that made route `r` and names a sink; `default` when none did. A
 * linear scan of the steps per delivered route (one step outside replays).
 */
function sinkOf(steps: readonly StepResult[], r: RouteRecord): string {
  for (let k = steps.length - 1; k >= 0; k--) {
    const { routing } = steps[k] as StepResult;
    if (routing.sink && hasRoute(routing.routes, r)) return routing.sink;
  }
  return 'default';
}

/** What {@link Engine.deliver} returns when a step routed nobody (shared: nothing to allocate). */
const NO_DELIVERIES: { effects: DeliveryEffect[]; routed: RouteRecord[] } = Object.freeze({ effects: Object.freeze([]) as unknown as DeliveryEffect[], routed: Object.freeze([]) as unknown as RouteRecord[] }) as { effects: DeliveryEffect[]; routed: RouteRecord[] };


function syntheticEvent(lead: LeadState): StoredEvent {
  return { id: lead.cursor.id, tenantId: lead.tenantId, type: '', subjectRef: lead.subjectRef, ...(lead.targetId ? { targetId: lead.targetId } : {}), occurredAt: lead.lastSeenAt, properties: {}, context: {}, receivedAt: lead.updatedAt };
}

/**
 * The stored form of a validated event. Absent properties and context share one frozen empty
 * object. The usual cases are written as whole literals: adding `subjectId` and `targetId` after
 * the fact overflowed the object's in-object slots into a separate property array (~100 bytes
 * per lead at 1M leads, measured in a heap snapshot).
 */
function storedEvent(input: EventInput, tenantId: string, subjectRef: string, now: number): StoredEvent {
  const { id, type, targetId } = input;
  const occurredAt = toEpoch(input.occurredAt);
  const properties = input.properties ?? EMPTY;
  const context = input.context ?? EMPTY;
  const subjectId = input.subjectId ?? (subjectRef.startsWith('anon:') ? undefined : subjectRef);
  let event: StoredEvent;
  if (subjectId !== undefined && targetId !== undefined) event = { id, tenantId, type, subjectRef, subjectId, targetId, occurredAt, properties, context, receivedAt: now };
  else if (subjectId !== undefined) event = { id, tenantId, type, subjectRef, subjectId, occurredAt, properties, context, receivedAt: now };
  else if (targetId !== undefined) event = { id, tenantId, type, subjectRef, targetId, occurredAt, properties, context, receivedAt: now };
  else event = { id, tenantId, type, subjectRef, occurredAt, properties, context, receivedAt: now };
  if (input.anonymousId !== undefined) event.anonymousId = input.anonymousId;
  if (input.channel !== undefined) event.channel = input.channel;
  return event;
}
const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;

function safePartial(input: unknown): Partial<EventInput> {
  if (typeof input !== 'object' || input === null) return {};
  const e = input as Record<string, unknown>;
  const out: Partial<EventInput> = {};
  if (typeof e.id === 'string') out.id = e.id;
  if (typeof e.type === 'string') out.type = e.type;
  if (typeof e.tenantId === 'string') out.tenantId = e.tenantId;
  return out;
}

export { ConflictError, LeadpipeError, snapshot };
