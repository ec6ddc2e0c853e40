/**
 * The memory store's timelines (`src/memory/timeline.ts`) against sorted arrays as models. Every
 * timeline of a store takes its blocks from the same two slabs, and a block a timeline outgrows or
 * releases is handed to the next one: any sequence of inserts (in order, late, ties on time),
 * releases, compactions and reads over several timelines at once must read back exactly the
 * model's events, no two live blocks may overlap, every block freed must be one handed out with
 * that size, and a freed block keeps no event alive.
 */
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK, chunkOf, offsetOf, Slab } from '../../src/memory/slab.js';
import { Timeline, TimelineColumns } from '../../src/memory/timeline.js';
import type { StoredEvent } from '../../src/types.js';

const RUNS = Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 200);
const SUBJECTS = ['s0', 's1', 's2', 's3', 's4'];
const EMPTY = Object.freeze({}) as Record<string, never>;

/** An event as the engine stores it (kept in columns), or, with `odd`, one kept as the object itself. */
function event(subjectRef: string, n: number, at: number, odd = false): StoredEvent {
  const id = `e${String(n).padStart(7, '0')}`;
  if (odd) return { id, tenantId: 't', type: 'view', subjectRef, subjectId: subjectRef, targetId: 'x', occurredAt: at, properties: { n }, context: EMPTY, receivedAt: at + 1 };
  return n % 3 === 0
    ? { id, tenantId: 't', type: 'view', subjectRef, subjectId: subjectRef, occurredAt: at, properties: EMPTY, context: EMPTY, receivedAt: at + 0.5 }
    : { id, tenantId: 't', type: n % 2 === 0 ? 'view' : 'bookmark', subjectRef, subjectId: subjectRef, targetId: `tour-${n % 5}`, occurredAt: at, properties: EMPTY, context: EMPTY, receivedAt: at + 0.5 };
}

const byTimeThenId = (a: StoredEvent, b: StoredEvent) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Every slab's blocks, checked as they are handed out and freed (the slabs' methods are wrapped
 * for this file, so the fresh slabs of a compaction are watched too): a new block lies inside its
 * chunk and overlaps no live block of its slab, and a freed block is a live one, freed with its size.
 */
const blocks = new WeakMap<Slab<unknown>, Map<number, number>>();
const blocksOf = (slab: Slab<unknown>): Map<number, number> => {
  let live = blocks.get(slab);
  if (!live) blocks.set(slab, (live = new Map()));
  return live;
};
/** Checked only while a few blocks are live (the check looks at every live block of the chunk). */
let checking = false;
const { alloc, free } = Slab.prototype;
beforeAll(() => {
  Slab.prototype.alloc = function (this: Slab<unknown>, size: number): number {
    const ref = alloc.call(this, size);
    if (!checking) return ref;
    const live = blocksOf(this);
    const c = chunkOf(ref);
    const o = offsetOf(ref);
    expect(o + size).toBeLessThanOrEqual((this.chunks[c] as unknown[]).length);
    for (const [r, n] of live) if (chunkOf(r) === c) expect(o + size <= offsetOf(r) || offsetOf(r) + n <= o).toBe(true);
    live.set(ref, size);
    return ref;
  };
  Slab.prototype.free = function (this: Slab<unknown>, ref: number, size: number): void {
    if (!checking) return free.call(this, ref, size);
    const live = blocksOf(this);
    expect(live.get(ref)).toBe(size);
    live.delete(ref);
    free.call(this, ref, size);
  };
});
afterAll(() => {
  Slab.prototype.alloc = alloc;
  Slab.prototype.free = free;
});

type Op = { op: 'insert'; subject: number; at: number; odd: boolean; count: number } | { op: 'release'; subject: number } | { op: 'compact'; subject: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ op: fc.constant('insert' as const), subject: fc.nat(SUBJECTS.length - 1), at: fc.integer({ min: 0, max: 80 }), odd: fc.boolean(), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), subject: fc.nat(SUBJECTS.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('compact' as const), subject: fc.constant(0) }) },
);
// `size: 'max'`: without it fast-check keeps arrays to about ten operations, and few blocks would be reused.
const ops = fc.array(op, { maxLength: 400, size: 'max' });

describe('Timeline', () => {
  beforeAll(() => {
    checking = true;
  });
  afterAll(() => {
    checking = false;
  });

  it('reads back every timeline as a sorted model does, with blocks shared, reused and compacted', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const columns = new TimelineColumns();
        const timelines = SUBJECTS.map((s) => new Timeline(columns, 't', s));
        const models: StoredEvent[][] = SUBJECTS.map(() => []);
        let n = 0;
        for (const o of list) {
          const timeline = timelines[o.subject] as Timeline;
          const model = models[o.subject] as StoredEvent[];
          if (o.op === 'compact') {
            columns.compact((visit) => timelines.forEach(visit));
            expect(columns.refs.waiting + columns.times.waiting).toBe(0);
            continue;
          }
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
        // Released, every block is back and holds no reference.
        for (const t of timelines) t.release();
        expect(columns.refs.live).toBe(0);
        expect(columns.times.live).toBe(0);
        expect(blocksOf(columns.refs as Slab<unknown>).size + blocksOf(columns.times as Slab<unknown>).size).toBe(0);
        for (const chunk of columns.refs.chunks) expect(chunk.every((x) => x === undefined)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps an event that does not fit the columns as the very object committed', () => {
    const timeline = new Timeline(new TimelineColumns(), 't', 's0');
    const odd = event('s0', 1, 10, true);
    timeline.insert(odd);
    timeline.insert(event('s0', 2, 5));
    expect(timeline.events()[1]).toBe(odd);
  });

  it('writes nothing for an event whose fields throw', () => {
    const columns = new TimelineColumns();
    const timeline = new Timeline(columns, 't', 's0');
    timeline.insert(event('s0', 1, 1), true);
    const bad = event('s0', 2, 0);
    Object.defineProperty(bad, 'properties', { enumerable: true, get: () => { throw new Error('boom'); } });
    expect(() => timeline.insert(bad)).toThrow('boom');
    expect(timeline.events().map((e) => e.id)).toEqual(['e0000001']);
    // The late event would have moved the first one up: its old place is as it was.
    expect((columns.refs.chunks[0] as unknown[]).slice(3, 6)).toEqual([undefined, undefined, undefined]);
  });

  it('a timeline past one chunk (blocks of their own), with a late insert whenever it is full', () => {
    const columns = new TimelineColumns();
    const liveRefs = blocksOf(columns.refs as Slab<unknown>);
    const timeline = new Timeline(columns, 't', 's');
    const other = new Timeline(columns, 't', 'o');
    const model: StoredEvent[] = [];
    let n = 0;
    // 45,000 events: the references block outgrows a chunk at ~21,800 events, the times block at ~32,800.
    for (let i = 0; i < 45_000; i++) {
      const full = [...liveRefs.values()].some((size) => size === 3 * timeline.length);
      // When full, an event earlier than all: the insert grows the blocks and moves every event up.
      const e = full ? event('s', n++, -1 - i, i % 2 === 0) : event('s', n++, 10 * i, i % 7 === 0);
      timeline.insert(e, !full);
      model.push(e);
      if (i % 5000 === 0) other.insert(event('o', n++, 10 * i), true);
    }
    expect(Math.max(...liveRefs.values())).toBeGreaterThan(CHUNK);
    model.sort(byTimeThenId);
    const got = timeline.events();
    expect(got.map((e) => e.id)).toEqual(model.map((e) => e.id));
    expect(got.map((e) => e.receivedAt)).toEqual(model.map((e) => e.receivedAt));
    expect(other.events()).toHaveLength(9);
    timeline.release();
    other.release();
    for (const chunk of columns.refs.chunks) expect(chunk.every((x) => x === undefined)).toBe(true);
    // Used again after a release, and released twice.
    timeline.insert(event('s', 1, 1));
    expect(timeline.events().map((e) => e.id)).toEqual(['e0000001']);
    timeline.release();
    timeline.release();
    expect(timeline.events()).toEqual([]);
  });
});

describe('TimelineColumns', () => {
  it('keeps times as unboxed doubles in every chunk, through growth and compaction', () => {
    // A store site shared by the reference and time columns once turned later time chunks into
    // arrays of boxed numbers (~74 bytes more per lead): checked with V8's own element-kind test.
    setFlagsFromString('--allow-natives-syntax');
    const hasDoubles = new Function('a', 'return %HasDoubleElements(a)') as (a: unknown) => boolean;
    const columns = new TimelineColumns();
    const timelines = Array.from({ length: 20_000 }, (_, s) => new Timeline(columns, 't', `s${s}`));
    for (let round = 0; round < 10; round++) timelines.forEach((timeline, s) => timeline.insert(event(`s${s}`, round * 100_000 + s, 1.7e12 + round * 1e6 + s), true));
    columns.compact((visit) => timelines.forEach(visit));
    for (let round = 10; round < 12; round++) timelines.forEach((timeline, s) => timeline.insert(event(`s${s}`, round * 100_000 + s, 1.7e12 + round * 1e6 + s), true));
    expect(columns.times.chunks.length).toBeGreaterThan(4);
    expect(columns.times.chunks.filter((chunk) => !hasDoubles(chunk))).toHaveLength(0);
  });

  it('asks for a compaction once the outgrown blocks outnumber the live ones, and a compaction keeps every event and frees them', () => {
    // People who all grow together (steady traffic from known users): nobody takes the blocks they outgrew.
    const columns = new TimelineColumns(1000);
    const timelines = Array.from({ length: 200 }, (_, s) => new Timeline(columns, 't', `s${s}`));
    const models: StoredEvent[][] = timelines.map(() => []);
    let n = 0;
    let compactions = 0;
    for (let round = 0; round < 40; round++) {
      timelines.forEach((timeline, s) => {
        const e = event(`s${s}`, n++, round);
        timeline.insert(e, true);
        (models[s] as StoredEvent[]).push(e);
      });
      if (columns.wasteful) {
        const { live } = columns.refs;
        expect(columns.refs.waiting > live || columns.times.waiting > columns.times.live).toBe(true);
        columns.compact((visit) => timelines.forEach(visit));
        compactions++;
        expect(columns.refs.waiting).toBe(0);
        expect(columns.times.waiting).toBe(0);
        expect(columns.refs.live).toBe(live);
      }
      // Never more than about twice the live slots waiting, plus the threshold.
      expect(columns.refs.waiting).toBeLessThanOrEqual(Math.max(1000, columns.refs.live) + 3 * 200 * 50);
    }
    expect(compactions).toBeGreaterThan(0);
    timelines.forEach((timeline, s) => expect(timeline.events()).toEqual(models[s]));
  });

  it('does not ask for one while new people take the blocks others outgrew', () => {
    const columns = new TimelineColumns(1000);
    let n = 0;
    // Each round: the people so far grow a little, and as many new people start.
    const timelines: Timeline[] = [];
    for (let round = 0; round < 30; round++) {
      for (let k = 0; k < 50; k++) timelines.push(new Timeline(columns, 't', `s${timelines.length}`));
      for (let s = Math.max(0, timelines.length - 400); s < timelines.length; s++) (timelines[s] as Timeline).insert(event(`s${s}`, n++, round), true);
      expect(columns.wasteful).toBe(false);
    }
  });
});
