/**
 * How the memory store keeps a tenant's audit log. Nearly every entry is the engine's record of a
 * stage change (`lead.stage_changed` with `from`, `to`, `cause`, `eventId`, `occurredAt`): those
 * are kept in columns and rebuilt on read. Any other entry is kept as the very object committed.
 *
 * A stage-change entry takes four references and two unboxed numbers, 48 bytes (the entry, its
 * `data` object and two boxed times would take ~170): its `(from, to, cause)` triple is one
 * reference to a {@link Transition} shared by every entry that made the same move (a config has
 * few stages and rules, so few triples), then `leadId`, `subjectRef`, `eventId`; `at` and
 * `occurredAt` are numbers. An entry kept as is takes the triple's slot. The strings are the stored
 * lead's own (`leadId`, `subjectRef`), not copies.
 *
 * The columns are cut into chunks of {@link CHUNK} entries. One growing array per column kept
 * ~25% spare capacity on average and, at a few million entries, copied tens of megabytes each
 * time it grew (a pause of the call that happened to append); a full chunk is never copied again.
 * @module
 */
import { keysInOrder, Transition, type Transitions } from './lead-record.js';
import type { AuditEntry } from '../types.js';

const STAGE_CHANGED = 'lead.stage_changed';
const ENTRY_KEYS = ['tenantId', 'at', 'action', 'leadId', 'subjectRef', 'data'] as const;
const DATA_KEYS = ['from', 'to', 'cause', 'eventId', 'occurredAt'] as const;
/** References per entry in a `refs` chunk: the transition (or the entry kept as is), leadId, subjectRef, eventId. */
const REFS = 4;
/** Entries per chunk (a power of two: the chunk of entry `i` is `i >>> SHIFT`). */
const SHIFT = 12;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

type Ref = Transition | AuditEntry | string | undefined;

/** Each column's chunks come from their own `new Array` (V8 keeps the element kind per allocation site: the numbers stay unboxed doubles). */
const newRefs = (size: number): Ref[] => new Array<Ref>(size).fill(undefined);
const newNums = (size: number): number[] => new Array<number>(size).fill(0);

/** One tenant's audit entries, in the order appended. */
export class AuditLog {
  readonly #refs: Ref[][] = [];
  /** Per entry: `at`, `data.occurredAt` (0, 0 for an entry kept as is). */
  readonly #nums: number[][] = [];
  #length = 0;

  constructor(
    private readonly tenantId: string,
    /** The store's shared transitions (see `lead-record.ts`). */
    private readonly transitions: Transitions,
  ) {}

  get length(): number {
    return this.#length;
  }

  /**
   * Appends an entry. `lead` is the stored lead it is about, if any: its `id` and `subjectRef`
   * strings are kept in place of the entry's equal ones, so the log adds no copies of them.
   */
  push(entry: AuditEntry, lead?: { id: string; subjectRef: string }): void {
    const i = this.#length++;
    // The first chunk grows as entries come (a tenant with a short log keeps a short one); every
    // later chunk is made at its full size and filled by index: grown by `push`, each was copied
    // about a dozen times on its way to 4,096 entries (~130 bytes of garbage per tour event, sampled).
    if ((i & MASK) === 0) {
      this.#refs.push(i === 0 ? [] : newRefs(CHUNK * REFS));
      this.#nums.push(i === 0 ? [] : newNums(CHUNK * 2));
    }
    const refs = this.#refs[i >>> SHIFT] as Ref[];
    const nums = this.#nums[i >>> SHIFT] as number[];
    const o = (i & MASK) * REFS;
    const n = (i & MASK) * 2;
    const data = entry.data as Record<string, unknown>;
    // Every slot of the entry is written, in order, so the first chunk's arrays stay without holes.
    if (this.#isStageChange(entry, data)) {
      refs[o] = this.transitions.get(data.from as string | null, data.to as string, data.cause as string);
      refs[o + 1] = lead !== undefined && lead.id === entry.leadId ? lead.id : (entry.leadId as string);
      refs[o + 2] = lead !== undefined && lead.subjectRef === entry.subjectRef ? lead.subjectRef : (entry.subjectRef as string);
      refs[o + 3] = data.eventId as string | undefined;
      nums[n] = entry.at;
      nums[n + 1] = data.occurredAt as number;
    } else {
      refs[o] = entry;
      refs[o + 1] = undefined;
      refs[o + 2] = undefined;
      refs[o + 3] = undefined;
      nums[n] = 0;
      nums[n + 1] = 0;
    }
  }

  /** The lead id of entry `i` (without building it). */
  leadId(i: number): string | undefined {
    const refs = this.#refs[i >>> SHIFT] as Ref[];
    const o = (i & MASK) * REFS;
    const first = refs[o];
    return first instanceof Transition ? (refs[o + 1] as string) : (first as AuditEntry).leadId;
  }

  /** The action of entry `i` (without building it). */
  action(i: number): string {
    const first = (this.#refs[i >>> SHIFT] as Ref[])[(i & MASK) * REFS];
    return first instanceof Transition ? STAGE_CHANGED : (first as AuditEntry).action;
  }

  /** Entry `i`: the committed object, or a fresh one built from the columns. */
  get(i: number): AuditEntry {
    const refs = this.#refs[i >>> SHIFT] as Ref[];
    const nums = this.#nums[i >>> SHIFT] as number[];
    const o = (i & MASK) * REFS;
    const first = refs[o];
    if (!(first instanceof Transition)) return first as AuditEntry;
    const n = (i & MASK) * 2;
    return {
      tenantId: this.tenantId,
      at: nums[n] as number,
      action: STAGE_CHANGED,
      leadId: refs[o + 1] as string,
      subjectRef: refs[o + 2] as string,
      data: { from: first.from, to: first.to, cause: first.cause, eventId: refs[o + 3], occurredAt: nums[n + 1] },
    };
  }

  /** True when `entry` is exactly the engine's stage-change shape (keys in order, types), so the columns rebuild it as it was. */
  #isStageChange(entry: AuditEntry, data: Record<string, unknown>): boolean {
    if (entry.action !== STAGE_CHANGED || entry.tenantId !== this.tenantId || typeof entry.at !== 'number') return false;
    if (typeof entry.leadId !== 'string' || typeof entry.subjectRef !== 'string') return false;
    if (typeof data !== 'object' || data === null || Array.isArray(data) || Object.getPrototypeOf(data) !== Object.prototype) return false;
    if (!keysInOrder(entry, ENTRY_KEYS) || !keysInOrder(data, DATA_KEYS)) return false;
    const { from, to, cause, eventId, occurredAt } = data;
    return (from === null || typeof from === 'string') && typeof to === 'string' && typeof cause === 'string' && (eventId === undefined || typeof eventId === 'string') && typeof occurredAt === 'number';
  }
}
