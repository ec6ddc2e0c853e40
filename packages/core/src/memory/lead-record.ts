/**
 * How the memory store keeps a lead: one compact record instead of the object graph of a
 * {@link LeadState}, and a fresh `LeadState` built from it on every read.
 *
 * Why: a `LeadState` is about fifteen small objects (components, breakdown, counts, cursor,
 * stage history, scoring state…) and a dozen boxed numbers: kept as is, ~1.2 KB per lead at a
 * million leads, and every event's new graph lived on until the lead's next event, so the
 * garbage collector copied and promoted it. A record keeps its numbers unboxed and its stage
 * transitions' strings in two blocks of the store's slabs (`slab.ts`: no array object per lead),
 * shares the key lists of its records with every lead of the same structure and its transitions'
 * `(from, to, cause)` with every lead that made the same move (~0.45 KB in all, with the record
 * object), and the next commit updates it in place. The price: a read builds a fresh `LeadState`
 * and a commit checks the lead and copies it into the record, 1–2 µs per event together
 * (profiled), repaid by less garbage collection: the same-machine A/Bs in BENCHMARKS.md measured
 * the pipeline's throughput unchanged within noise for the first form (47% less heap per lead)
 * and ~11% higher for the slabs and shared transitions (27% less again).
 *
 * The encoding is lossless for the shapes the engine writes. Anything else a caller may commit (an
 * extra field, a non-number where a number is expected, an object with a prototype other than
 * `Object.prototype`) is kept as a structured clone instead, so the store never loses data.
 * @module
 */
import type { PriorLead } from '../pipeline/lead.js';
import type { LeadState, RouteRecord, SignalState, StageTransition } from '../types.js';
import { chunkOf, offsetOf, Slab } from './slab.js';

/** The key lists of a lead's records, shared by every record with the same structure. */
class Shape {
  constructor(
    readonly components: readonly string[],
    readonly counts: readonly string[],
    readonly sources: readonly string[],
    readonly breakdownComponents: readonly string[],
    readonly signals: readonly string[],
    /** Per signal: the keys of its state, in order. */
    readonly signalKeys: ReadonlyArray<readonly SignalKey[]>,
    /** How many entries of `nums` everything but windows and stage history takes. */
    readonly fixedNums: number,
    /** How many entries of `strs` the signals' buckets take. */
    readonly buckets: number,
    /** True when a signal has a `window` (its length is then read from `nums`). */
    readonly windows: boolean,
  ) {}

  /** Shapes leads of this shape changed to (a new count, a new signal…): tried first next time. */
  readonly next: Shape[] = [];
}

type SignalKey = 'value' | 'window' | 'bucket' | 'inBucket';

/**
 * A stage change's `(from, to, cause)`, shared by every stage transition (in lead records and in
 * the audit log) that made the same move: a config has few stages and rules, so few triples, and
 * one reference instead of three strings is 16 bytes less per transition.
 */
export class Transition {
  constructor(
    readonly from: string | null,
    readonly to: string,
    readonly cause: string,
  ) {}
}

/** Interns {@link Transition}s: one table per store. */
export class Transitions {
  readonly #byFrom = new Map<string | null, Map<string, Map<string, Transition>>>();
  #count = 0;

  /**
   * The shared transition for a triple. Past {@link MAX_TRANSITIONS} distinct triples (only odd data
   * has that many) a new triple gets an object of its own, so the table cannot grow without bound.
   */
  get(from: string | null, to: string, cause: string): Transition {
    const found = this.#byFrom.get(from)?.get(to)?.get(cause);
    if (found) return found;
    const created = new Transition(from, to, cause);
    if (this.#count >= MAX_TRANSITIONS) return created;
    let byTo = this.#byFrom.get(from);
    if (!byTo) this.#byFrom.set(from, (byTo = new Map()));
    let byCause = byTo.get(to);
    if (!byCause) byTo.set(to, (byCause = new Map()));
    byCause.set(cause, created);
    this.#count++;
    return created;
  }
}
const MAX_TRANSITIONS = 10_000;

/** Numbers every record starts with, in this order. */
const SCORE = 0;
const FIRST_SEEN = 1;
const LAST_SEEN = 2;
const CURSOR_AT = 3;
const CREATED = 4;
const UPDATED = 5;
const HEAD = 6;

/**
 * A stored lead. Strings, the version and the routing are fields; every other number is in its
 * `nums` block of the codec's number slab (unboxed doubles, see `slab.ts`), laid out as HEAD, then
 * the values of `components`, `counts`, `breakdown.sources`, `breakdown.components` in the shape's
 * key order, then each signal's state keys in order (`window` as its length then its pairs), then
 * each stage transition's time. Its `strs` block (of the reference slab) holds each signal's
 * bucket, then per stage transition its shared {@link Transition} and its eventId. The tenant id is not kept: the store keeps leads per tenant,
 * and a lead whose `tenantId` is not its tenant's is kept as a clone.
 */
export class LeadRecord {
  constructor(
    public id: string,
    public subjectRef: string,
    public targetId: string | undefined,
    public version: number,
    public stage: string,
    public tier: string | null,
    public cursorId: string,
    /** The shape of `nums` and `strs`, or, for a lead of a shape the record does not encode, its structured clone. */
    public form: Shape | LeadState,
    /** Ref of the numbers block (see `slab.ts`); unused for a clone. */
    public nums: number,
    /** Ref of the references block; -1 when it would be empty or for a clone. */
    public strs: number,
    /** Stage transitions: the blocks' sizes follow from it and the shape. */
    public history: number,
    /** Routes, deliveries and sticky owners, frozen; most leads are never routed and share {@link NOT_ROUTED}. */
    public routing: Routing,
  ) {}

  get routes(): RouteRecord[] {
    return this.routing.routes;
  }

  /** The lead kept as a clone, if it is one. */
  get raw(): LeadState | undefined {
    return this.form instanceof Shape ? undefined : this.form;
  }
}

/**
 * Set (to `true`) on a {@link CommitBatch} by the engine's event path, whose leads are built by
 * the pipeline step from a `LeadState` (so they have exactly its fields, of its types). The store
 * then skips the field-by-field check of the top level and of the route lists and stage history
 * (~0.4 µs per lead, measured), and still checks every record's keys against the shape. Such a
 * batch writes each lead once (the engine's leads come from a Map by id) and deletes none, so the
 * store also skips tracking versions within the batch. A symbol that the package does not
 * export: nothing else sets it.
 */
export const ENGINE_LEADS: unique symbol = Symbol('leadpipe.engineLeads');

/** A lead checked and ready to be written: its shape, or its clone when it has none. */
export type Prepared = Shape | LeadState;

/**
 * Interns shapes. One per store: the last shape seen is tried first, so a commit of the usual
 * shape costs a walk over the lead's keys and no allocation.
 */
export class LeadCodec {
  readonly #shapes = new Map<string, Shape>();
  /** Stage transitions, shared with the store's audit logs. */
  readonly transitions = new Transitions();
  /** Every record's numbers and references (see `slab.ts`). */
  readonly #nums = new Slab<number>((size) => new Array<number>(size).fill(0));
  readonly #strs = new Slab<Ref>((size) => new Array<Ref>(size).fill(undefined));
  /** Shapes new leads had, tried first for the next new lead. */
  readonly #roots: Shape[] = [];

  /**
   * Checks `lead` (committed to tenant `tenantId`) and finds its shape; a lead the record cannot
   * encode is cloned. Throws (before anything is written) only when a lead is not plain data that
   * can be cloned.
   *
   * A lead's shape changes as it sees new signals, so the shapes each shape changed to are kept
   * with it and tried before a new one is built and interned (building the key of the intern table
   * for every changed lead was a microsecond per event).
   */
  prepare(lead: LeadState, previous: LeadRecord | undefined, tenantId: string, fromEngine = false): Prepared {
    if ((!fromEngine && !plainLeadFields(lead)) || lead.tenantId !== tenantId) return cloneLead(lead);
    const from = previous?.form instanceof Shape ? previous.form : undefined;
    const candidates = from ? from.next : this.#roots;
    if (from && fitsShape(lead, from)) return from;
    for (const candidate of candidates) if (fitsShape(lead, candidate)) return candidate;
    const shape = shapeOf(lead);
    if (!shape) return cloneLead(lead);
    const key = JSON.stringify([shape.components, shape.counts, shape.sources, shape.breakdownComponents, shape.signals, shape.signalKeys]);
    let interned = this.#shapes.get(key);
    if (!interned) {
      interned = shape;
      // Shapes come from the config's signal and component names, so there are few; a cap keeps
      // unusual data from growing the table without bound (later shapes are simply not shared).
      if (this.#shapes.size < MAX_SHAPES) this.#shapes.set(key, shape);
    }
    if (candidates.length < MAX_NEXT) candidates.push(interned);
    return interned;
  }

  /**
   * Writes a prepared lead into `into` (updated in place) or a new record. A new record keeps
   * `subjectRef` (a string equal to the lead's) rather than the lead's own string, so the leads of
   * one person share one.
   */
  write(lead: LeadState, prepared: Prepared, into: LeadRecord | undefined, subjectRef: string = lead.subjectRef): LeadRecord {
    if (!(prepared instanceof Shape)) {
      const raw = prepared;
      // A clone may lack any field (it did not fit the record): nothing here may assume one.
      if (!into) return new LeadRecord(raw.id, raw.subjectRef, raw.targetId, raw.version, raw.stage, raw.tier, cursorIdOf(raw), raw, 0, -1, 0, NOT_ROUTED);
      this.release(into);
      into.form = raw;
      setHeader(into, raw);
      into.routing = NOT_ROUTED;
      return into;
    }
    const shape = prepared;
    const history = lead.stageHistory.length;
    let windows = 0;
    for (let s = 0; s < shape.signals.length; s++) {
      const state = lead.scoring.signals[shape.signals[s] as string] as SignalState;
      if (state.window) windows += 1 + 2 * state.window.length;
    }
    const numCount = shape.fixedNums + windows + history;
    const strCount = strCountOf(shape, history);
    // Same sizes: overwrite the blocks in place; otherwise the old blocks go back to the slabs.
    let nums: number;
    let strs: number;
    if (into && into.form instanceof Shape && this.#numCount(into) === numCount && strCountOf(into.form, into.history) === strCount) {
      nums = into.nums;
      strs = into.strs;
    } else {
      if (into) this.release(into);
      nums = this.#nums.alloc(numCount);
      strs = strCount === 0 ? -1 : this.#strs.alloc(strCount);
    }
    fillNums(lead, shape, this.#nums.chunks[chunkOf(nums)] as number[], offsetOf(nums), strs < 0 ? NO_REFS : (this.#strs.chunks[chunkOf(strs)] as Ref[]), offsetOf(strs), this.transitions);
    const routing = routingOf(lead, into?.routing);
    if (!into) return new LeadRecord(lead.id, subjectRef, lead.targetId, lead.version, lead.stage, lead.tier, lead.cursor.id, shape, nums, strs, history, routing);
    setHeader(into, lead);
    into.form = shape;
    into.nums = nums;
    into.strs = strs;
    into.history = history;
    into.routing = routing;
    return into;
  }

  /** Gives a record's blocks back to the slabs (a deleted lead, or one whose blocks change size). */
  release(r: LeadRecord): void {
    if (!(r.form instanceof Shape)) return;
    this.#nums.free(r.nums, this.#numCount(r));
    if (r.strs >= 0) this.#strs.free(r.strs, strCountOf(r.form, r.history));
    r.strs = -1;
  }

  /** The lead's score (what `listLeads`' `minScore` filter reads). */
  score(r: LeadRecord): number {
    const shape = r.form;
    if (!(shape instanceof Shape)) return shape.score;
    return (this.#nums.chunks[chunkOf(r.nums)] as number[])[offsetOf(r.nums) + SCORE] as number;
  }

  /**
   * Builds a fresh `LeadState` from a record of tenant `tenantId`. Nothing of the result is shared
   * with the store but the frozen route lists.
   */
  read(r: LeadRecord, tenantId: string): LeadState {
    return this.#read(r, tenantId, true);
  }

  /**
   * {@link LeadCodec.read} for the engine's track path, which reads a lead only to fold the next
   * event into it: `components` and `breakdown` (recomputed by every step) are left undecoded —
   * shared frozen empty placeholders, so the lead keeps the usual hidden class — and typed away
   * (`PriorLead`). Four objects and their numbers less per event (~0.35 KB, measured).
   */
  readPrior(r: LeadRecord, tenantId: string): PriorLead {
    return this.#read(r, tenantId, false);
  }

  #read(r: LeadRecord, tenantId: string, scores: true): LeadState;
  #read(r: LeadRecord, tenantId: string, scores: false): PriorLead;
  #read(r: LeadRecord, tenantId: string, scores: boolean): PriorLead {
    const shape = r.form;
    if (!(shape instanceof Shape)) return structuredClone(shape);
    return readShaped(r, shape, tenantId, this.#nums.chunks[chunkOf(r.nums)] as number[], offsetOf(r.nums), r.strs < 0 ? NO_REFS : (this.#strs.chunks[chunkOf(r.strs)] as Ref[]), offsetOf(r.strs), scores);
  }

  /** Size of a shaped record's numbers block: fixed by its shape, plus its windows' entries and stage history. */
  #numCount(r: LeadRecord): number {
    const shape = r.form as Shape;
    let count = shape.fixedNums + r.history;
    if (!shape.windows) return count;
    const nums = this.#nums.chunks[chunkOf(r.nums)] as number[];
    let n = offsetOf(r.nums) + HEAD + shape.components.length + shape.counts.length + shape.sources.length + shape.breakdownComponents.length;
    for (const keys of shape.signalKeys) {
      for (const key of keys) {
        if (key === 'bucket') continue;
        if (key === 'window') {
          const length = nums[n] as number;
          count += 1 + 2 * length;
          n += 1 + 2 * length;
        } else n++;
      }
    }
    return count;
  }
}

/** Size of a shaped record's references block: its signals' buckets, then two per stage transition. */
function strCountOf(shape: Shape, history: number): number {
  return shape.buckets + 2 * history;
}

/** What a record's references block holds. */
type Ref = Transition | string | null | undefined;

const MAX_SHAPES = 10_000;
const MAX_NEXT = 16;
const NO_REFS: Ref[] = Object.freeze([]) as unknown as Ref[];

/** Sets the record's fields from a lead written over it: the same id, so `id` and `subjectRef` keep the record's own strings when they are equal. */
function setHeader(r: LeadRecord, lead: LeadState): void {
  if (r.id !== lead.id) r.id = lead.id;
  if (r.subjectRef !== lead.subjectRef) r.subjectRef = lead.subjectRef;
  r.targetId = lead.targetId;
  r.version = lead.version;
  r.stage = lead.stage;
  r.tier = lead.tier;
  r.cursorId = cursorIdOf(lead);
}

function cursorIdOf(lead: LeadState): string {
  return (lead.cursor as { id?: string } | undefined)?.id ?? '';
}

/** {@link LeadCodec.read} for a shaped record whose blocks start at `nums[n0]` and `strs[b0]`. */
function readShaped(r: LeadRecord, shape: Shape, tenantId: string, nums: number[], n0: number, strs: Ref[], b0: number, scores: boolean): LeadState {
  let n = n0 + HEAD;
  let components = NOT_READ.components;
  if (scores) {
    components = {};
    for (const k of shape.components) components[k] = nums[n++] as number;
  } else n += shape.components.length;
  const counts: Record<string, number> = {};
  for (const k of shape.counts) counts[k] = nums[n++] as number;
  let breakdown = NOT_READ.breakdown;
  if (scores) {
    const sources: Record<string, number> = {};
    for (const k of shape.sources) sources[k] = nums[n++] as number;
    const breakdownComponents: Record<string, number> = {};
    for (const k of shape.breakdownComponents) breakdownComponents[k] = nums[n++] as number;
    breakdown = { sources, components: breakdownComponents };
  } else n += shape.sources.length + shape.breakdownComponents.length;
  const signals: Record<string, SignalState> = {};
  let b = b0;
  for (let s = 0; s < shape.signals.length; s++) {
    const state = {} as SignalState;
    for (const key of shape.signalKeys[s] as readonly SignalKey[]) {
      if (key === 'bucket') state.bucket = strs[b++] as string;
      else if (key === 'window') {
        const length = nums[n++] as number;
        const window: Array<[number, number]> = new Array(length);
        for (let w = 0; w < length; w++, n += 2) window[w] = [nums[n] as number, nums[n + 1] as number];
        state.window = window;
      } else state[key] = nums[n++] as number;
    }
    signals[shape.signals[s] as string] = state;
  }
  const history = r.history;
  const stageHistory: StageTransition[] = new Array(history);
  for (let h = 0; h < history; h++, b += 2) {
    const move = strs[b] as Transition;
    const t: StageTransition = { from: move.from, to: move.to, at: nums[n++] as number, cause: move.cause };
    const eventId = strs[b + 1];
    if (eventId !== undefined) t.eventId = eventId as string;
    stageHistory[h] = t;
  }
  const { id, subjectRef, targetId, version, stage, tier } = r;
  const { routes, assignments } = r.routing;
  const delivered = r.routing.delivered === MIRRORED ? routes.map(({ ownerId, at }) => ({ ownerId, at })) : r.routing.delivered;
  const score = nums[n0 + SCORE] as number;
  const firstSeenAt = nums[n0 + FIRST_SEEN] as number;
  const lastSeenAt = nums[n0 + LAST_SEEN] as number;
  const cursor = { occurredAt: nums[n0 + CURSOR_AT] as number, id: r.cursorId };
  const scoring = { signals };
  const createdAt = nums[n0 + CREATED] as number;
  const updatedAt = nums[n0 + UPDATED] as number;
  // The engine's key order (targetId after subjectRef), so read and newly built leads share a hidden class.
  return targetId === undefined
    ? { id, tenantId, subjectRef, version, score, components, breakdown, counts, firstSeenAt, lastSeenAt, cursor, stage, tier, stageHistory, routes, delivered, assignments, scoring, createdAt, updatedAt }
    : { id, tenantId, subjectRef, targetId, version, score, components, breakdown, counts, firstSeenAt, lastSeenAt, cursor, stage, tier, stageHistory, routes, delivered, assignments, scoring, createdAt, updatedAt };
}

/** What {@link LeadCodec.readPrior} puts where it does not decode. */
const NOT_READ: Pick<LeadState, 'components' | 'breakdown'> = Object.freeze({
  components: Object.freeze({}) as Record<string, number>,
  breakdown: Object.freeze({ sources: Object.freeze({}), components: Object.freeze({}) }) as LeadState['breakdown'],
});

/** Writes a lead into its blocks, which start at `nums[n0]` and `strs[b0]`. */
function fillNums(lead: LeadState, shape: Shape, nums: number[], n0: number, strs: Ref[], b0: number, transitions: Transitions): void {
  nums[n0 + SCORE] = lead.score;
  nums[n0 + FIRST_SEEN] = lead.firstSeenAt;
  nums[n0 + LAST_SEEN] = lead.lastSeenAt;
  nums[n0 + CURSOR_AT] = lead.cursor.occurredAt;
  nums[n0 + CREATED] = lead.createdAt;
  nums[n0 + UPDATED] = lead.updatedAt;
  let n = n0 + HEAD;
  for (const k in lead.components) nums[n++] = lead.components[k] as number;
  for (const k in lead.counts) nums[n++] = lead.counts[k] as number;
  for (const k in lead.breakdown.sources) nums[n++] = lead.breakdown.sources[k] as number;
  for (const k in lead.breakdown.components) nums[n++] = lead.breakdown.components[k] as number;
  let b = b0;
  for (let s = 0; s < shape.signals.length; s++) {
    const state = lead.scoring.signals[shape.signals[s] as string] as SignalState;
    for (const key of shape.signalKeys[s] as readonly SignalKey[]) {
      if (key === 'bucket') strs[b++] = state.bucket;
      else if (key === 'window') {
        const window = state.window as Array<[number, number]>;
        nums[n++] = window.length;
        for (const [t, p] of window) {
          nums[n++] = t;
          nums[n++] = p;
        }
      } else nums[n++] = state[key] as number;
    }
  }
  for (const t of lead.stageHistory) {
    nums[n++] = t.at;
    // A record updated in place usually holds this transition already: compared, not looked up again.
    const held = strs[b];
    strs[b++] = held instanceof Transition && held.from === t.from && held.to === t.to && held.cause === t.cause ? held : transitions.get(t.from, t.to, t.cause);
    strs[b++] = t.eventId;
  }
}

/** A lead's routes, deliveries and sticky owners, as a record keeps them (frozen, shared by its reads). */
class Routing {
  constructor(
    readonly routes: RouteRecord[],
    readonly delivered: LeadState['delivered'],
    readonly assignments: Record<string, string[]>,
  ) {}
}

/** The routing of every lead never routed: one object instead of three fields per record (~16 bytes per lead). */
const NOT_ROUTED = new Routing(Object.freeze([]) as unknown as RouteRecord[], Object.freeze([]) as unknown as LeadState['delivered'], Object.freeze({}) as Record<string, string[]>);

/**
 * Stands for `delivered` when it is exactly `{ ownerId, at }` of each route, in order: the usual
 * case (every route delivered once), rebuilt on read instead of kept (~110 bytes per routed lead).
 */
const MIRRORED: LeadState['delivered'] = Object.freeze([]) as unknown as LeadState['delivered'];

/** The routing a record keeps for `lead`: `held` (the record's current one) when it still says the same. */
function routingOf(lead: LeadState, held: Routing | undefined): Routing {
  if (held && held.routes === lead.routes && held.assignments === lead.assignments && (held.delivered === lead.delivered || (held.delivered === MIRRORED && mirrors(lead.delivered, lead.routes)))) return held;
  if (lead.routes.length === 0 && lead.delivered.length === 0 && isEmpty(lead.assignments)) return NOT_ROUTED;
  const routes = frozen(lead.routes);
  return new Routing(routes, mirrors(lead.delivered, routes) ? MIRRORED : frozen(lead.delivered), frozenAssignments(lead.assignments));
}

/** True when `delivered` is exactly `{ ownerId, at }` of each route, in order (key order too). */
function mirrors(delivered: LeadState['delivered'], routes: readonly RouteRecord[]): boolean {
  if (delivered.length !== routes.length || delivered.length === 0) return false;
  for (let i = 0; i < delivered.length; i++) {
    const d = delivered[i] as LeadState['delivered'][number];
    const r = routes[i] as RouteRecord;
    if (!Object.is(d.ownerId, r.ownerId) || !Object.is(d.at, r.at) || !keysInOrder(d, DELIVERED_KEYS)) return false;
  }
  return true;
}
const DELIVERED_KEYS = ['ownerId', 'at'] as const;

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** Freezes a committed list (and its items) so the reads that share it cannot change it. */
function frozen<T extends object>(list: T[]): T[] {
  if (Object.isFrozen(list)) return list;
  for (const item of list) Object.freeze(item);
  return Object.freeze(list) as T[];
}

function frozenAssignments(a: Record<string, string[]>): Record<string, string[]> {
  if (Object.isFrozen(a)) return a;
  for (const k in a) Object.freeze(a[k]);
  return Object.freeze(a);
}

function cloneLead(lead: LeadState): LeadState {
  try {
    return structuredClone(lead);
  } catch (error) {
    throw new TypeError(`[leadpipe] [memory-store] Lead ${String(lead?.id)} cannot be stored: it holds a value that is not plain data (${(error as Error).message}). Commit leads made of plain objects, arrays, strings, numbers, booleans and null. Nothing was written.`);
  }
}

/**
 * A record position holds a non-array object. Like every store, this one keeps a lead's data (its
 * own enumerable fields), not prototypes: checking each object's prototype cost more than the rest
 * of the encoding together (~0.5 µs per commit), and a class instance where `LeadState` has a
 * record is a type error that a SQL store would flatten too.
 */
const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isList = Array.isArray as (x: unknown) => x is unknown[];

/** The lead's own fields are exactly those of a `LeadState`, of the expected types. */
function plainLeadFields(lead: LeadState): boolean {
  if (!isPlain(lead)) return false;
  let keys = 0;
  for (const _ in lead) keys++;
  if (keys !== (lead.targetId === undefined ? 20 : 21)) return false;
  return (
    typeof lead.id === 'string' &&
    typeof lead.tenantId === 'string' &&
    typeof lead.subjectRef === 'string' &&
    (lead.targetId === undefined || typeof lead.targetId === 'string') &&
    typeof lead.version === 'number' &&
    typeof lead.score === 'number' &&
    typeof lead.firstSeenAt === 'number' &&
    typeof lead.lastSeenAt === 'number' &&
    typeof lead.createdAt === 'number' &&
    typeof lead.updatedAt === 'number' &&
    typeof lead.stage === 'string' &&
    (lead.tier === null || typeof lead.tier === 'string') &&
    isPlain(lead.cursor) &&
    exactKeys(lead.cursor, 2) &&
    typeof lead.cursor.occurredAt === 'number' &&
    typeof lead.cursor.id === 'string' &&
    isPlain(lead.breakdown) &&
    exactKeys(lead.breakdown, 2) &&
    isPlain(lead.scoring) &&
    exactKeys(lead.scoring, 1) &&
    isPlain(lead.scoring.signals) &&
    isPlain(lead.components) &&
    isPlain(lead.counts) &&
    isPlain(lead.breakdown.sources) &&
    isPlain(lead.breakdown.components) &&
    validHistory(lead.stageHistory) &&
    validRoutes(lead.routes) &&
    validDelivered(lead.delivered) &&
    validAssignments(lead.assignments)
  );
}

function exactKeys(o: object, count: number): boolean {
  let n = 0;
  for (const _ in o) n++;
  return n === count;
}

function validHistory(h: unknown): h is StageTransition[] {
  if (!isList(h)) return false;
  for (const t of h) {
    if (!isPlain(t)) return false;
    const withEvent = t.eventId !== undefined;
    if (!exactKeys(t, withEvent ? 5 : 4)) return false;
    if (!(t.from === null || typeof t.from === 'string') || typeof t.to !== 'string' || typeof t.at !== 'number' || typeof t.cause !== 'string') return false;
    if (withEvent && typeof t.eventId !== 'string') return false;
  }
  return true;
}

/** Routes and deliveries are kept as they are (frozen), so they need only be plain data. */
function validRoutes(r: unknown): boolean {
  if (!isList(r)) return false;
  for (const x of r) if (!isPlain(x)) return false;
  return true;
}
const validDelivered = validRoutes;

function validAssignments(a: unknown): boolean {
  if (!isPlain(a)) return false;
  for (const k in a) {
    const owners = a[k];
    if (!isList(owners)) return false;
    for (const o of owners) if (typeof o !== 'string') return false;
  }
  return true;
}

/** True when the lead's records have exactly the shape's keys, with number values (signal states checked too). */
function fitsShape(lead: LeadState, shape: Shape): boolean {
  if (!numbersWithKeys(lead.components, shape.components)) return false;
  if (!numbersWithKeys(lead.counts, shape.counts)) return false;
  if (!numbersWithKeys(lead.breakdown.sources, shape.sources)) return false;
  if (!numbersWithKeys(lead.breakdown.components, shape.breakdownComponents)) return false;
  const signals = lead.scoring.signals;
  let s = 0;
  for (const name in signals) {
    if (shape.signals[s] !== name) return false;
    const state = signals[name];
    if (!isPlain(state) || !stateFits(state, shape.signalKeys[s] as readonly SignalKey[])) return false;
    s++;
  }
  return s === shape.signals.length;
}

function numbersWithKeys(record: Record<string, number>, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in record) {
    if (keys[i] !== k || typeof record[k] !== 'number') return false;
    i++;
  }
  return i === keys.length;
}

function stateFits(state: Record<string, unknown>, keys: readonly SignalKey[]): boolean {
  let i = 0;
  for (const k in state) {
    if (keys[i] !== k || !validSignalValue(k, state[k])) return false;
    i++;
  }
  return i === keys.length;
}

function validSignalValue(key: string, v: unknown): boolean {
  if (key === 'value' || key === 'inBucket') return typeof v === 'number';
  if (key === 'bucket') return typeof v === 'string';
  if (key !== 'window' || !isList(v)) return false;
  for (const pair of v) if (!isList(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || typeof pair[1] !== 'number') return false;
  return true;
}

/** The shape of a lead whose fields `plainLeadFields` accepted, or undefined when a record holds something else. */
function shapeOf(lead: LeadState): Shape | undefined {
  const components = numberKeys(lead.components);
  const counts = numberKeys(lead.counts);
  const sources = numberKeys(lead.breakdown.sources);
  const breakdownComponents = numberKeys(lead.breakdown.components);
  if (!components || !counts || !sources || !breakdownComponents) return undefined;
  const signals: string[] = [];
  const signalKeys: SignalKey[][] = [];
  let fixedNums = HEAD + components.length + counts.length + sources.length + breakdownComponents.length;
  let buckets = 0;
  for (const name in lead.scoring.signals) {
    const state: unknown = lead.scoring.signals[name];
    if (!isPlain(state)) return undefined;
    const keys: SignalKey[] = [];
    for (const k in state) {
      if (!validSignalValue(k, state[k])) return undefined;
      keys.push(k as SignalKey);
      if (k === 'bucket') buckets++;
      else if (k !== 'window') fixedNums++;
    }
    signals.push(name);
    signalKeys.push(keys);
  }
  return new Shape(components, counts, sources, breakdownComponents, signals, signalKeys, fixedNums, buckets, signalKeys.some((keys) => keys.includes('window')));
}

function numberKeys(record: Record<string, unknown>): string[] | undefined {
  const keys: string[] = [];
  for (const k in record) {
    if (typeof record[k] !== 'number') return undefined;
    keys.push(k);
  }
  return keys;
}

/** True when `o`'s own enumerable keys are exactly `keys`, in that order. */
export function keysInOrder(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) if (keys[i++] !== k) return false;
  return i === keys.length;
}
