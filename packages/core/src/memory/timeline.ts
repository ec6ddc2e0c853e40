/**
 * How the memory store keeps one person's events, sorted by (occurredAt, id). Nearly every event
 * the engine stores has the same form — the person's own subject id, no properties, no context,
 * no channel — and those are kept in two arrays per timeline (three references and two unboxed
 * times per event, ~40 bytes, instead of a ten-field object with two boxed times, ~140 bytes) and
 * rebuilt on read. Any other event is kept as the very object committed.
 * @module
 */
import { keysInOrder } from './lead-record.js';
import type { StoredEvent } from '../types.js';

/** The empty properties and context of a rebuilt event (the engine stores a frozen empty object too). */
const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;
const KEYS = ['id', 'tenantId', 'type', 'subjectRef', 'subjectId', 'occurredAt', 'properties', 'context', 'receivedAt'] as const;
const KEYS_WITH_TARGET = ['id', 'tenantId', 'type', 'subjectRef', 'subjectId', 'targetId', 'occurredAt', 'properties', 'context', 'receivedAt'] as const;

/** References per event in `refs`: the id (or the event itself when kept as is), type, targetId. */
const REFS = 3;

type Ref = string | StoredEvent | undefined;

/**
 * One subject's events in (occurredAt, id) order. Two arrays for the whole timeline rather than
 * one per column: each array carries a header and spare capacity, and with five columns those
 * outweighed the events themselves (measured in a heap snapshot).
 *
 * The arrays are sized here, not by `push`: `push` grows an array by half plus sixteen slots, so
 * a person's few events sat in arrays mostly empty (~60 bytes per lead at a million leads). They
 * grow by a quarter, at least two events, and are copied when they do.
 */
export class Timeline {
  /** Per event: id or the event kept as is, type, targetId; slots past `length` are spare. */
  #refs: Ref[] = NO_REFS;
  /** Per event: occurredAt, receivedAt (unboxed); slots past `length` are spare. */
  #times: number[] = NO_TIMES;
  #length = 0;

  constructor(
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
    const n = this.length;
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
    if (REFS * n === this.#refs.length) this.#grow();
    const refs = this.#refs;
    const times = this.#times;
    // Later events move up one place (none when appending).
    if (at < n) {
      refs.copyWithin(REFS * (at + 1), REFS * at, REFS * n);
      times.copyWithin(2 * (at + 1), 2 * at, 2 * n);
    }
    const kept = this.#fits(event);
    refs[REFS * at] = kept ? event.id : event;
    refs[REFS * at + 1] = kept ? event.type : undefined;
    refs[REFS * at + 2] = kept ? event.targetId : undefined;
    times[2 * at] = event.occurredAt;
    times[2 * at + 1] = event.receivedAt;
    this.#length = n + 1;
  }

  /** Moves the events to arrays with room for about a quarter more (at least two more events). */
  #grow(): void {
    const n = this.#length;
    const capacity = n + Math.max(2, n >> 2);
    const refs = newRefs(REFS * capacity);
    const times = newTimes(2 * capacity);
    for (let k = 0; k < REFS * n; k++) refs[k] = this.#refs[k];
    for (let k = 0; k < 2 * n; k++) times[k] = this.#times[k] as number;
    this.#refs = refs;
    this.#times = times;
  }

  /** The events, in order (of one target only when `targetId` is given). */
  events(targetId?: string): StoredEvent[] {
    const out: StoredEvent[] = [];
    const refs = this.#refs;
    for (let i = 0; i < this.length; i++) {
      if (targetId !== undefined) {
        // Filter before rebuilding: the target is in the columns, or on the event kept as is.
        const first = refs[REFS * i] as string | StoredEvent;
        if ((typeof first === 'string' ? refs[REFS * i + 2] : first.targetId) !== targetId) continue;
      }
      out.push(this.#get(i));
    }
    return out;
  }

  #get(i: number): StoredEvent {
    const refs = this.#refs;
    const first = refs[REFS * i] as string | StoredEvent;
    if (typeof first !== 'string') return first;
    const { tenantId, subjectRef } = this;
    const id = first;
    const type = refs[REFS * i + 1] as string;
    const targetId = refs[REFS * i + 2] as string | undefined;
    const occurredAt = this.#times[2 * i] as number;
    const receivedAt = this.#times[2 * i + 1] as number;
    // The engine's key order (see `storedEvent` in engine.ts).
    return targetId === undefined
      ? { id, tenantId, type, subjectRef, subjectId: subjectRef, occurredAt, properties: EMPTY, context: EMPTY, receivedAt }
      : { id, tenantId, type, subjectRef, subjectId: subjectRef, targetId, occurredAt, properties: EMPTY, context: EMPTY, receivedAt };
  }

  /** (occurredAt, id) of event `i` against `event`. */
  #compareAt(i: number, event: StoredEvent): number {
    const t = this.#times[2 * i] as number;
    if (t !== event.occurredAt) return t - event.occurredAt;
    const first = this.#refs[REFS * i] as string | StoredEvent;
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

const NO_REFS: Ref[] = Object.freeze([]) as unknown as Ref[];
const NO_TIMES: number[] = Object.freeze([]) as unknown as number[];
/** Each column's arrays come from its own `new Array`: V8 keeps the element kind per allocation site, and the times must stay unboxed doubles. */
const newRefs = (size: number): Ref[] => new Array<Ref>(size).fill(undefined);
const newTimes = (size: number): number[] => new Array<number>(size).fill(0);

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
