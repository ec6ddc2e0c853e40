/**
 * The memory store's string-keyed tables (`src/memory/string-table.ts`) against `Set` and `Map`
 * as models: any sequence of additions, lookups and deletions — keys that share probe paths,
 * deleted slots reused, tables resized with tombstones in them — answers as the model does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashString, StringMap, StringSet } from '../../src/memory/string-table.js';

const RUNS = Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 300);

/** A small universe, so that operations hit the same keys again; odd strings included. */
const UNIVERSE = ['', 'a', 'b', 'ab', 'ba', 'e-1', 'e-10', 'e-100', '\u0000', 'é', '😀', '\ud800', 'x'.repeat(300), 'evt:00000001', 'evt:00000002', 'toString', '__proto__'];
const key = fc.oneof(fc.constantFrom(...UNIVERSE), fc.string({ maxLength: 8 }));

type Op = { op: 'add' | 'delete' | 'has'; key: string };
// `size: 'max'`: without it fast-check keeps arrays to about ten elements, and no table would resize.
const ops = fc.array(fc.record({ op: fc.constantFrom('add', 'add', 'delete', 'has'), key }) as fc.Arbitrary<Op>, { maxLength: 400, size: 'max' });

/** Two different keys whose probes start at the same slot of a new (16-slot) table. */
function sameStartSlot(): [string, string] {
  const bySlot = new Map<number, string>();
  for (let i = 0; ; i++) {
    const k = `k${i}`;
    const slot = (hashString(k) >>> 1) & 15;
    const other = bySlot.get(slot);
    if (other !== undefined) return [other, k];
    bySlot.set(slot, k);
  }
}

describe('StringSet', () => {
  it('answers every operation as a Set does', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const set = new StringSet();
        const model = new Set<string>();
        for (const { op, key: k } of list) {
          if (op === 'add') {
            expect(set.add(k)).toBe(!model.has(k));
            model.add(k);
          } else if (op === 'delete') expect(set.delete(k)).toBe(model.delete(k));
          else expect(set.has(k)).toBe(model.has(k));
          expect(set.size).toBe(model.size);
        }
        for (const k of [...UNIVERSE, ...list.map((o) => o.key)]) expect(set.has(k)).toBe(model.has(k));
      }),
      { numRuns: RUNS },
    );
  });

  it('finds a key past a deleted one on its probe path, and does not add it twice', () => {
    const [first, second] = sameStartSlot();
    const set = new StringSet();
    set.add(first);
    set.add(second); // the slot after the first's
    set.delete(first); // a tombstone in front of the second
    expect(set.has(second)).toBe(true);
    expect(set.add(second)).toBe(false);
    expect(set.size).toBe(1);
    expect(set.add(first)).toBe(true); // into the tombstone
    expect([set.has(first), set.has(second), set.size]).toEqual([true, true, 2]);
  });

  it('keeps a hundred thousand keys through resizes, and reuses the slots of deleted ones', () => {
    const set = new StringSet();
    const keys = Array.from({ length: 100_000 }, (_, i) => `e-${i}`);
    // Wrong answers are counted, not asserted one by one (an expect per call made this test slow).
    let wrong = 0;
    for (const k of keys) if (!set.add(k)) wrong++;
    for (let i = 0; i < keys.length; i += 2) if (!set.delete(keys[i] as string)) wrong++;
    keys.forEach((k, i) => set.has(k) !== (i % 2 === 1) && wrong++);
    for (let i = 0; i < keys.length; i += 2) if (!set.add(keys[i] as string)) wrong++;
    for (const k of keys) if (set.add(k)) wrong++;
    expect(wrong).toBe(0);
    expect(set.size).toBe(100_000);
  });

  it('never fills up with tombstones: keys added and deleted one after another', () => {
    const set = new StringSet();
    // Each addition takes a fresh slot and each deletion leaves a tombstone: without a resize
    // that drops them, a probe would find no empty slot and never end.
    let wrong = 0;
    for (let i = 0; i < 50_000; i++) {
      if (!set.add(`k${i}`) || !set.delete(`k${i}`) || set.has(`k${i}`)) wrong++;
    }
    expect(wrong).toBe(0);
    expect(set.size).toBe(0);
  });
});

describe('the size limit', () => {
  it('refuses to grow past its most slots, before anything changes', () => {
    // A table of at most 64 slots holds up to 48 keys (3/4 filled); the 49th addition needs 128.
    const set = new StringSet(64);
    const map = new StringMap<number>(64);
    for (let i = 0; i < 48; i++) {
      set.add(`k${i}`);
      map.set(`k${i}`, i);
    }
    expect(() => set.add('one-more')).toThrow(/a hash table of 48 keys cannot grow past 64 slots/);
    expect(() => map.set('one-more', 48)).toThrow(/a hash table of 48 keys cannot grow past 64 slots/);
    // The key was not added and every key still answers.
    expect(set.has('one-more')).toBe(false);
    expect(map.get('one-more')).toBeUndefined();
    expect([set.size, map.size]).toEqual([48, 48]);
    for (let i = 0; i < 48; i++) {
      expect(set.has(`k${i}`)).toBe(true);
      expect(map.get(`k${i}`)).toBe(i);
    }
    // A key already there needs no room: found, and a map's value updated, without growing.
    expect(set.add('k0')).toBe(false);
    map.set('k0', -1);
    expect(map.get('k0')).toBe(-1);
  });
});

describe('StringMap', () => {
  type MapOp = { op: 'set' | 'delete' | 'get'; key: string; value: number };
  const mapOps = fc.array(fc.record({ op: fc.constantFrom('set', 'set', 'delete', 'get'), key, value: fc.integer() }) as fc.Arbitrary<MapOp>, { maxLength: 400, size: 'max' });

  it('answers every operation as a Map does', () => {
    fc.assert(
      fc.property(mapOps, (list) => {
        const map = new StringMap<number>();
        const model = new Map<string, number>();
        for (const { op, key: k, value } of list) {
          if (op === 'set') {
            map.set(k, value);
            model.set(k, value);
          } else if (op === 'delete') expect(map.delete(k)).toBe(model.delete(k));
          else expect(map.get(k)).toBe(model.get(k));
          expect(map.size).toBe(model.size);
        }
        for (const k of [...UNIVERSE, ...list.map((o) => o.key)]) expect(map.get(k)).toBe(model.get(k));
      }),
      { numRuns: RUNS },
    );
  });

  it('moves values with their keys when it resizes', () => {
    const map = new StringMap<{ n: number }>();
    const values = Array.from({ length: 20_000 }, (_, n) => ({ n }));
    values.forEach((v) => map.set(`s${v.n}`, v));
    for (const v of values) expect(map.get(`s${v.n}`)).toBe(v);
    for (let n = 0; n < 20_000; n += 3) map.delete(`s${n}`);
    for (const v of values) expect(map.get(`s${v.n}`)).toBe(v.n % 3 === 0 ? undefined : v);
  });
});

describe('hashString', () => {
  it('refuses a key that is not a string (numbers would all hash alike)', () => {
    expect(() => hashString(42 as unknown as string)).toThrow(/must be a string, got number/);
    expect(new StringSet().has(undefined as unknown as string)).toBe(false);
    expect(new StringMap().get(7 as unknown as string)).toBeUndefined();
  });

  it('is odd (a live slot is never mistaken for an empty or deleted one) and spreads similar keys', () => {
    const starts = new Set<number>();
    for (let i = 0; i < 4096; i++) {
      const h = hashString(`evt-${i}`);
      expect(h & 1).toBe(1);
      starts.add((h >>> 1) & 4095);
    }
    // 4,096 keys into 4,096 start slots at random fill ~63% of them (1 − 1/e); sequential ids must not cluster.
    expect(starts.size).toBeGreaterThan(2400);
  });
});
