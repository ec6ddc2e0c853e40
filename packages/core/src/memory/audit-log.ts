/**
 * How the memory store keeps a tenant's audit log. Nearly every entry is the engine's record of a
 * stage change (`lead.stage_changed` with `from`, `to`, `cause`, `eventId`, `occurredAt`): those
 * are kept in columns — two unboxed numbers and six references per entry, ~72 bytes instead of
 * ~170 for the entry, its `data` object and two boxed times — and rebuilt on read. Any other
 * entry is kept as the very object committed.
 * @module
 */
import { keysInOrder } from './lead-record.js';
import type { AuditEntry } from '../types.js';

const STAGE_CHANGED = 'lead.stage_changed';
const ENTRY_KEYS = ['tenantId', 'at', 'action', 'leadId', 'subjectRef', 'data'] as const;
const DATA_KEYS = ['from', 'to', 'cause', 'eventId', 'occurredAt'] as const;
/** References per stage-change entry in `strs`: leadId, subjectRef, from, to, cause, eventId. */
const STRS = 6;

/** One tenant's audit entries, in the order appended. */
export class AuditLog {
  /** Per entry: the entry itself when it is kept as is, undefined when it is in the columns. */
  readonly #raw: Array<AuditEntry | undefined> = [];
  /** Per entry: `at`, `data.occurredAt` (unused for entries kept as is). */
  readonly #nums: number[] = [];
  readonly #strs: Array<string | null | undefined> = [];

  constructor(private readonly tenantId: string) {}

  get length(): number {
    return this.#raw.length;
  }

  push(entry: AuditEntry): void {
    const data = entry.data as Record<string, unknown>;
    if (!this.#isStageChange(entry, data)) {
      this.#raw.push(entry);
      this.#nums.push(0, 0);
      for (let k = 0; k < STRS; k++) this.#strs.push(undefined);
      return;
    }
    this.#raw.push(undefined);
    this.#nums.push(entry.at, data.occurredAt as number);
    this.#strs.push(entry.leadId, entry.subjectRef, data.from as string | null, data.to as string, data.cause as string, data.eventId as string | undefined);
  }

  /** The lead id of entry `i` (without building it). */
  leadId(i: number): string | undefined {
    const raw = this.#raw[i];
    return raw ? raw.leadId : (this.#strs[i * STRS] as string);
  }

  /** The action of entry `i` (without building it). */
  action(i: number): string {
    const raw = this.#raw[i];
    return raw ? raw.action : STAGE_CHANGED;
  }

  /** Entry `i`: the committed object, or a fresh one built from the columns. */
  get(i: number): AuditEntry {
    const raw = this.#raw[i];
    if (raw) return raw;
    const s = i * STRS;
    const strs = this.#strs;
    return {
      tenantId: this.tenantId,
      at: this.#nums[2 * i] as number,
      action: STAGE_CHANGED,
      leadId: strs[s] as string,
      subjectRef: strs[s + 1] as string,
      data: { from: strs[s + 2], to: strs[s + 3], cause: strs[s + 4], eventId: strs[s + 5], occurredAt: this.#nums[2 * i + 1] },
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
