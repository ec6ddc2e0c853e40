/**
 * How the memory store keeps one person's events, sorted by (occurredAt, id). Nearly every event
 * the engine stores has the same form — the person's own subject id, no properties, no context,
 * no channel — and those are kept in columns (five references and unboxed numbers per event, ~48
 * bytes, instead of a ten-field object with two boxed times, ~140 bytes) and rebuilt on read. Any
 * other event is kept as the very object committed.
 * @module
 */
import { keysInOrder } from './lead-record.js';
import type { StoredEvent } from '../types.js';

/** The empty properties and context of a rebuilt event (the engine stores a frozen empty object too). */
const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;
const KEYS = ['id', 'tenantId', 'type', 'subjectRef', 'subjectId', 'occurredAt', 'properties', 'context', 'receivedAt'] as const;
const KEYS_WITH_TARGET = ['id', 'tenantId', 'type', 'subjectRef', 'subjectId', 'targetId', 'occurredAt', 'properties', 'context', 'receivedAt'] as const;

/** One subject's events in (occurredAt, id) order. */
export class Timeline {
  readonly #ids: string[] = [];
  readonly #types: string[] = [];
  readonly #targets: Array<string | undefined> = [];
  /** Per event: occurredAt, receivedAt. */
  readonly #times: number[] = [];
  /** Per event: the event itself when it is kept as is, undefined when it is in the columns. */
  readonly #raw: Array<StoredEvent | undefined> = [];

  constructor(
    private readonly tenantId: string,
    private readonly subjectRef: string,
  ) {}

  get length(): number {
    return this.#ids.length;
  }

  /** Adds an event in order: appending is O(1); an earlier event is placed by binary search. */
  insert(event: StoredEvent): void {
    const n = this.#ids.length;
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
    const raw = this.#fits(event) ? undefined : event;
    if (at === n) {
      this.#ids.push(event.id);
      this.#types.push(event.type);
      this.#targets.push(event.targetId);
      this.#times.push(event.occurredAt, event.receivedAt);
      this.#raw.push(raw);
    } else {
      this.#ids.splice(at, 0, event.id);
      this.#types.splice(at, 0, event.type);
      this.#targets.splice(at, 0, event.targetId);
      this.#times.splice(2 * at, 0, event.occurredAt, event.receivedAt);
      this.#raw.splice(at, 0, raw);
    }
  }

  /** The events, in order (of one target only when `targetId` is given). */
  events(targetId?: string): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (let i = 0; i < this.#ids.length; i++) if (targetId === undefined || this.#targets[i] === targetId) out.push(this.#get(i));
    return out;
  }

  #get(i: number): StoredEvent {
    const raw = this.#raw[i];
    if (raw) return raw;
    const { tenantId, subjectRef } = this;
    const id = this.#ids[i] as string;
    const type = this.#types[i] as string;
    const targetId = this.#targets[i];
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
    const id = this.#ids[i] as string;
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

function frozenEmpty(o: unknown): boolean {
  if (typeof o !== 'object' || o === null || !Object.isFrozen(o) || Array.isArray(o) || Object.getPrototypeOf(o) !== Object.prototype) return false;
  for (const _ in o) return false;
  return true;
}
