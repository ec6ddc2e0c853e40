/**
 * How the memory store keeps one person's events, sorted by (occurredAt, id). Nearly every event
 * the engine stores has the same form — the person's own subject id, no properties, no context,
 * no channel — and those are kept in columns (three references and two unboxed times per event,
 * ~40 bytes, instead of a ten-field object with two boxed times, ~140 bytes) and rebuilt on read.
 * Any other event is kept as the very object committed.
 * @module
 */
import { keysInOrder } from './lead-record.js';
import { chunkOf, offsetOf, Slab } from './slab.js';
import type { StoredEvent } from '../types.js';

/** The empty properties and context of a rebuilt event (the engine stores a frozen empty object too). */
const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;
const KEYS = ['id', 'tenantId', 'type', 'subjectRef', 'subjectId', 'occurredAt', 'properties', 'context', 'receivedAt'] as const;
const KEYS_WITH_TARGET = ['id', 'tenantId', 'type', 'subjectRef', 'subjectId', 'targetId', 'occurredAt', 'properties', 'context', 'receivedAt'] as const;

/** References per event in `refs`: the id (or the event itself when kept as is), type, targetId. */
const REFS = 3;

type Ref = string | StoredEvent | undefined;

/**
 * The columns of every timeline of a store, as blocks of two slabs (see `slab.ts`): a timeline's
 * references are one block of the reference slab, its times one block of the number slab.
 *
 * Why not two arrays per timeline: each array is an object and a backing store with headers (~96
 * bytes per person), and a timeline that grows makes new arrays, so the old ones were garbage
 * that had lived long enough to be promoted to the old generation first (~190 bytes per tour event
 * copied by the young-generation collector and dropped later, sampled at 400k events). A block a
 * timeline outgrows goes back to its slab and is handed to the next timeline that grows to that
 * size (blocks up to a chunk: timelines of up to ~21,800 events).
 *
 * A freed block waits for a timeline of its exact size. Where new people keep arriving (the tour
 * benchmark) one soon comes; where a fixed set of people all grow (steady traffic from known
 * users), the blocks they outgrew would wait forever — 3.5–6× the live columns in a reviewer's
 * test. So when the waiting slots outnumber the live ones (and pass {@link COMPACT_AFTER}), the
 * store calls {@link TimelineColumns.compact}: every timeline is copied into fresh slabs and the
 * old ones are dropped. That keeps the columns under about twice their live size, spare room
 * aside, and costs one copy of every stored event each time, a pause of the commit that triggers
 * it (~60 ms per million stored events, measured); the copy is paid for by at least as many slots
 * freed since the last one.
 */
export class TimelineColumns {
  refs = new Slab<Ref>(newRefs);
  times = new Slab<number>(newTimes);

  /** @param compactAfter Waiting slots below which the columns are never compacted (tests pass a small one). */
  constructor(private readonly compactAfter = COMPACT_AFTER) {}

  /** True when a compaction would free more than it keeps (see the class comment). */
  get wasteful(): boolean {
    const { refs, times, compactAfter } = this;
    return (refs.waiting > compactAfter && refs.waiting > refs.live) || (times.waiting > compactAfter && times.waiting > times.live);
  }

  /** Moves `timelines` — every timeline that uses these columns — into fresh slabs, and drops the old ones. */
  compact(timelines: (visit: (timeline: Timeline) => void) => void): void {
    const refs = new Slab<Ref>(newRefs);
    const times = new Slab<number>(newTimes);
    timelines((timeline) => timeline.moveTo(refs, times));
    this.refs = refs;
    this.times = times;
  }
}

/** Waiting slots below which the columns are never compacted by default (~4 MB of references). */
export const COMPACT_AFTER = 1 << 19;

/** Each column's chunks come from their own `new Array`: V8 keeps the element kind per allocation site, and the times must stay unboxed doubles. */
const newRefs = (size: number): Ref[] => new Array<Ref>(size).fill(undefined);
const newTimes = (size: number): number[] => new Array<number>(size).fill(0);

/**
 * One subject's events in (occurredAt, id) order: event `i`'s references at `REFS·i` of its
 * references block and its occurredAt, receivedAt at `2·i` of its times block. Blocks hold room
 * for `capacity` events. They grow by a quarter, at least two events (a person's few events would
 * otherwise sit in blocks mostly empty), and are copied when they do.
 */
export class Timeline {
  /** Refs of the blocks (see `slab.ts`); -1 while the timeline has no room. */
  #refs = -1;
  #times = -1;
  #capacity = 0;
  #length = 0;

  constructor(
    private readonly columns: TimelineColumns,
    private readonly tenantId: string,
    /** The subject's id; the store's leads of this subject share this very string. */
    readonly subjectRef: string,
  ) {}

  get length(): number {
    return this.#length;
  }

  /**
   * Adds an event in order: appending is O(1); an earlier event is placed by binary search.
   * `last`: the caller knows the event sorts after every event here (it is appended unchecked).
   */
  insert(event: StoredEvent, last = false): void {
    // First: nothing is written if it throws (an accessor on the event).
    const kept = this.#fits(event);
    const n = this.#length;
    let at = n;
    if (!last && n > 0 && this.#compareAt(n - 1, event) > 0) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#compareAt(mid, event) <= 0) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
    }
    if (n === this.#capacity) this.#grow();
    const refs = this.columns.refs.chunks[chunkOf(this.#refs)] as Ref[];
    const times = this.columns.times.chunks[chunkOf(this.#times)] as number[];
    const r = offsetOf(this.#refs) + REFS * at;
    const t = offsetOf(this.#times) + 2 * at;
    // Later events move up one place (none when appending).
    if (at < n) {
      refs.copyWithin(r + REFS, r, r + REFS * (n - at));
      times.copyWithin(t + 2, t, t + 2 * (n - at));
    }
    refs[r] = kept ? event.id : event;
    refs[r + 1] = kept ? event.type : undefined;
    refs[r + 2] = kept ? event.targetId : undefined;
    times[t] = event.occurredAt;
    times[t + 1] = event.receivedAt;
    this.#length = n + 1;
  }

  /** Moves the events to blocks with room for about a quarter more (at least two more events); the old blocks go back to the slabs. */
  #grow(): void {
    const n = this.#length;
    const refs = this.#refs;
    const times = this.#times;
    const capacity = this.#capacity;
    this.#copyTo(this.columns.refs, this.columns.times, n + Math.max(2, n >> 2));
    if (capacity > 0) this.#free(refs, times, capacity);
  }

  /** Empties the timeline and gives its blocks back to the slabs (a merged anonymous timeline). */
  release(): void {
    if (this.#capacity > 0) this.#free(this.#refs, this.#times, this.#capacity);
    this.#refs = -1;
    this.#times = -1;
    this.#capacity = 0;
    this.#length = 0;
  }

  /**
   * Copies the events into blocks of the same capacity cut from `refs` and `times` (the fresh slabs
   * of a compaction); the old blocks are left as they are, with the slabs they belong to.
   */
  moveTo(refs: Slab<Ref>, times: Slab<number>): void {
    if (this.#capacity > 0) this.#copyTo(refs, times, this.#capacity);
  }

  /** Copies the events into new blocks for `capacity` events cut from `refs` and `times`, which become the timeline's; the old blocks are the caller's. */
  #copyTo(refs: Slab<Ref>, times: Slab<number>, capacity: number): void {
    const n = this.#length;
    const r = refs.alloc(REFS * capacity);
    const t = times.alloc(2 * capacity);
    if (n > 0) {
      copyRefs(this.columns.refs, this.#refs, refs, r, REFS * n);
      copyTimes(this.columns.times, this.#times, times, t, 2 * n);
    }
    this.#refs = r;
    this.#times = t;
    this.#capacity = capacity;
  }

  /** Gives blocks of `capacity` events back to the slabs, emptied of the references of this timeline's events first, so a freed block keeps no event alive until it is reused. */
  #free(refs: number, times: number, capacity: number): void {
    const chunk = this.columns.refs.chunks[chunkOf(refs)] as Ref[];
    const o = offsetOf(refs);
    chunk.fill(undefined, o, o + REFS * this.#length);
    this.columns.refs.free(refs, REFS * capacity);
    this.columns.times.free(times, 2 * capacity);
  }

  /** The events, in order (of one target only when `targetId` is given). */
  events(targetId?: string): StoredEvent[] {
    const out: StoredEvent[] = [];
    if (this.#length === 0) return out;
    const refs = this.columns.refs.chunks[chunkOf(this.#refs)] as Ref[];
    const o = offsetOf(this.#refs);
    for (let i = 0; i < this.#length; i++) {
      if (targetId !== undefined) {
        // Filter before rebuilding: the target is in the columns, or on the event kept as is.
        const first = refs[o + REFS * i] as string | StoredEvent;
        if ((typeof first === 'string' ? refs[o + REFS * i + 2] : first.targetId) !== targetId) continue;
      }
      out.push(this.#get(i));
    }
    return out;
  }

  #get(i: number): StoredEvent {
    const refs = this.columns.refs.chunks[chunkOf(this.#refs)] as Ref[];
    const r = offsetOf(this.#refs) + REFS * i;
    const first = refs[r] as string | StoredEvent;
    if (typeof first !== 'string') return first;
    const times = this.columns.times.chunks[chunkOf(this.#times)] as number[];
    const t = offsetOf(this.#times) + 2 * i;
    const { tenantId, subjectRef } = this;
    const id = first;
    const type = refs[r + 1] as string;
    const targetId = refs[r + 2] as string | undefined;
    const occurredAt = times[t] as number;
    const receivedAt = times[t + 1] as number;
    // The engine's key order (see `storedEvent` in engine.ts).
    return targetId === undefined
      ? { id, tenantId, type, subjectRef, subjectId: subjectRef, occurredAt, properties: EMPTY, context: EMPTY, receivedAt }
      : { id, tenantId, type, subjectRef, subjectId: subjectRef, targetId, occurredAt, properties: EMPTY, context: EMPTY, receivedAt };
  }

  /** (occurredAt, id) of event `i` against `event`. */
  #compareAt(i: number, event: StoredEvent): number {
    const t = (this.columns.times.chunks[chunkOf(this.#times)] as number[])[offsetOf(this.#times) + 2 * i] as number;
    if (t !== event.occurredAt) return t - event.occurredAt;
    const first = (this.columns.refs.chunks[chunkOf(this.#refs)] as Ref[])[offsetOf(this.#refs) + REFS * i] as string | StoredEvent;
    const id = typeof first === 'string' ? first : first.id;
    return id < event.id ? -1 : id > event.id ? 1 : 0;
  }

  /** True when the columns rebuild `event` exactly: its keys in the engine's order, the usual values. */
  #fits(e: StoredEvent): boolean {
    if (e.tenantId !== this.tenantId || e.subjectRef !== this.subjectRef || e.subjectId !== this.subjectRef) return false;
    if (typeof e.id !== 'string' || typeof e.type !== 'string' || typeof e.occurredAt !== 'number' || typeof e.receivedAt !== 'number') return false;
    if (e.targetId !== undefined && typeof e.targetId !== 'string') return false;
    if (!frozenEmpty(e.properties) || !frozenEmpty(e.context)) return false;
    return keysInOrder(e, e.targetId === undefined ? KEYS : KEYS_WITH_TARGET);
  }
}

/**
 * Copies `count` slots from block `from` of slab `a` to block `to` of slab `b`: references, and
 * times. Two functions, not one generic one: a store site that has seen arrays of references and
 * arrays of doubles turns the double arrays it writes into arrays of boxed numbers (V8 moves them
 * to the more general element kind, and their allocation site then makes every later chunk so):
 * 16 bytes more per time, ~74 bytes per lead, measured.
 */
function copyRefs(a: Slab<Ref>, from: number, b: Slab<Ref>, to: number, count: number): void {
  const source = a.chunks[chunkOf(from)] as Ref[];
  const target = b.chunks[chunkOf(to)] as Ref[];
  for (let k = 0, i = offsetOf(from), j = offsetOf(to); k < count; k++) target[j + k] = source[i + k];
}

function copyTimes(a: Slab<number>, from: number, b: Slab<number>, to: number, count: number): void {
  const source = a.chunks[chunkOf(from)] as number[];
  const target = b.chunks[chunkOf(to)] as number[];
  for (let k = 0, i = offsetOf(from), j = offsetOf(to); k < count; k++) target[j + k] = source[i + k] as number;
}

/**
 * The last object found to be a frozen empty plain object. A frozen object can never gain keys
 * or change its prototype, so once checked it needs no second look: the engine passes one shared
 * empty object for every event, which would otherwise go through the checks below each time.
 */
let knownEmpty: object | undefined;

function frozenEmpty(o: unknown): boolean {
  if (o === knownEmpty) return true;
  if (typeof o !== 'object' || o === null || !Object.isFrozen(o) || Array.isArray(o) || Object.getPrototypeOf(o) !== Object.prototype) return false;
  for (const _ in o) return false;
  knownEmpty = o;
  return true;
}
