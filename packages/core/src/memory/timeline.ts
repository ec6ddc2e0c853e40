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

/**
 * One subject's events in (occurredAt, id) order. Two arrays for the whole timeline rather than
 * one per column: each array carries a header and spare capacity, and with five columns those
 * outweighed the events themselves (measured in a heap snapshot).
 */
export class Timeline {
  /** Per event: id or the event kept as is, type, targetId. */
  readonly #refs: Array<string | StoredEvent | undefined> = [];
  /** Per event: occurredAt, receivedAt (unboxed). */
  readonly #times: number[] = [];

  constructor(
    private readonly tenantId: string,
    /** The subject's id; the store's leads of this subject share this very string. */
    readonly subjectRef: string,
  ) {}

  get length(): number {
    return this.#refs.length / REFS;
  }

  /** Adds an event in order: appending is O(1); an earlier event is placed by binary search. */
  insert(event: StoredEvent): void {
    const n = this.length;
    let at = n;
    if (n > 0 && this.#compareAt(n - 1, event) > 0) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#compareAt(mid, event) <= 0) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
    }
    const kept = this.#fits(event);
    const first = kept ? event.id : event;
    const type = kept ? event.type : undefined;
    const target = kept ? event.targetId : undefined;
    if (at === n) {
      this.#refs.push(first, type, target);
      this.#times.push(event.occurredAt, event.receivedAt);
    } else {
      this.#refs.splice(REFS * at, 0, first, type, target);
      this.#times.splice(2 * at, 0, event.occurredAt, event.receivedAt);
    }
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
