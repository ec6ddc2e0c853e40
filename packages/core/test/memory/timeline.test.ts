/**
 * The memory store's timelines (`src/memory/timeline.ts`) against sorted arrays as models. Every
 * timeline of a store takes its blocks from the same two slabs, and a block a timeline outgrows or
 * releases is handed to the next one: any sequence of inserts (in order, late, ties on time),
 * releases and reads over several timelines at once must read back exactly the model's events, so
 * that no two timelines ever share a block and a reused block shows nothing of its last owner.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Timeline, TimelineColumns } from '../../src/memory/timeline.js';
import type { StoredEvent } from '../../src/types.js';

const RUNS = Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 300);
const SUBJECTS = ['s0', 's1', 's2', 's3'];
const EMPTY = Object.freeze({}) as Record<string, never>;

/** An event as the engine stores it (kept in columns), or, with `odd`, one kept as the object itself. */
function event(subjectRef: string, n: number, at: number, odd: boolean): StoredEvent {
  const id = `e${n}`;
  if (odd) return { id, tenantId: 't', type: 'view', subjectRef, subjectId: subjectRef, targetId: 'x', occurredAt: at, properties: { n }, context: EMPTY, receivedAt: at + 1 };
  return n % 3 === 0
    ? { id, tenantId: 't', type: 'view', subjectRef, subjectId: subjectRef, occurredAt: at, properties: EMPTY, context: EMPTY, receivedAt: at + 1 }
    : { id, tenantId: 't', type: n % 2 === 0 ? 'view' : 'bookmark', subjectRef, subjectId: subjectRef, targetId: `tour-${n % 5}`, occurredAt: at, properties: EMPTY, context: EMPTY, receivedAt: at + 1 };
}

const byTimeThenId = (a: StoredEvent, b: StoredEvent) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

type Op = { op: 'insert'; subject: number; at: number; odd: boolean; count: number } | { op: 'release'; subject: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constant('insert' as const), subject: fc.nat(SUBJECTS.length - 1), at: fc.integer({ min: 0, max: 50 }), odd: fc.boolean(), count: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), subject: fc.nat(SUBJECTS.length - 1) }) },
);
// `size: 'max'`: without it fast-check keeps arrays to about ten operations, and few blocks would be reused.
const ops = fc.array(op, { maxLength: 300, size: 'max' });

describe('Timeline', () => {
  it('reads back every timeline as a sorted model does, with blocks shared and reused', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const columns = new TimelineColumns();
        const timelines = SUBJECTS.map((s) => new Timeline(columns, 't', s));
        const models: StoredEvent[][] = SUBJECTS.map(() => []);
        let n = 0;
        for (const o of list) {
          const timeline = timelines[o.subject] as Timeline;
          const model = models[o.subject] as StoredEvent[];
          if (o.op === 'release') {
            timeline.release();
            model.length = 0;
          } else {
            for (let k = 0; k < o.count; k++) {
              const e = event(SUBJECTS[o.subject] as string, n++, o.at + k, o.odd);
              // `last` only where the caller would know it: after every event of the timeline.
              const last = model.every((m) => byTimeThenId(m, e) < 0) && n % 2 === 0;
              timeline.insert(e, last);
              model.push(e);
            }
            model.sort(byTimeThenId);
          }
          expect(timeline.length).toBe(model.length);
        }
        for (let s = 0; s < SUBJECTS.length; s++) {
          const model = models[s] as StoredEvent[];
          expect((timelines[s] as Timeline).events()).toEqual(model);
          expect((timelines[s] as Timeline).events('tour-1')).toEqual(model.filter((e) => e.targetId === 'tour-1'));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps an event that does not fit the columns as the very object committed', () => {
    const timeline = new Timeline(new TimelineColumns(), 't', 's0');
    const odd = event('s0', 1, 10, true);
    timeline.insert(odd);
    timeline.insert(event('s0', 2, 5, false));
    expect(timeline.events()[1]).toBe(odd);
  });

  it('hands a released block to the next timeline with none of its old events', () => {
    const columns = new TimelineColumns();
    const first = new Timeline(columns, 't', 's0');
    for (let i = 0; i < 5; i++) first.insert(event('s0', i, i, false), true);
    first.release();
    expect(first.events()).toEqual([]);
    const second = new Timeline(columns, 't', 's1');
    second.insert(event('s1', 10, 1, false), true);
    expect(second.events().map((e) => e.id)).toEqual(['e10']);
    // Released blocks hold no references: the freed slots read as empty.
    expect((columns.refs.chunks[0] as unknown[]).filter((r) => typeof r === 'string' && r.startsWith('e') && r !== 'e10')).toEqual([]);
  });
});
