/**
 * The memory store's compact lead records (`src/memory/lead-record.ts`): whatever lead is
 * committed, a read gives back an equal, independent copy — for the shapes the record encodes
 * (generated below, with odd keys and values) and for anything else (kept as a clone).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/memory/index.js';
import { makeBatch, makeEvent, makeLead } from '../../src/testing/index.js';
import type { LeadState, SignalState, StageTransition } from '../../src/types.js';

const RUNS = Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 1000);

/** Keys as configs name things, plus integer-like keys (which objects order first) and inherited names (not `constructor`: toStrictEqual compares it as the type). */
const key = fc.constantFrom('a', 'b', 'view', 'intent', '1', '10', 'x y', 'toString', 'valueOf', 'é');
/** Any double, including -0, NaN and infinities: the record must keep each bit for bit. */
const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 1.7e12 + 0.5));
const numbers = fc.dictionary(key, num, { maxKeys: 5, noNullPrototype: true });
const text = fc.string({ maxLength: 6 });

const signalState: fc.Arbitrary<SignalState> = fc
  .record(
    {
      value: num,
      window: fc.array(fc.tuple(num, num), { maxLength: 4 }),
      bucket: text,
      inBucket: num,
    },
    { requiredKeys: [], noNullPrototype: true },
  )
  .chain((state) => fc.shuffledSubarray(Object.keys(state), { minLength: Object.keys(state).length }).map((order) => Object.fromEntries(order.map((k) => [k, state[k as keyof typeof state]])) as unknown as SignalState));

const transition: fc.Arbitrary<StageTransition> = fc
  .record({ from: fc.option(text, { nil: null }), to: text, at: num, cause: text, eventId: fc.option(text, { nil: undefined }) }, { noNullPrototype: true })
  .map(({ eventId, ...t }) => (eventId === undefined ? t : { ...t, eventId }));

const lead: fc.Arbitrary<LeadState> = fc
  .record({
    id: text,
    subjectRef: text,
    targetId: fc.option(text, { nil: undefined }),
    version: fc.nat(),
    score: num,
    components: numbers,
    sources: numbers,
    breakdownComponents: numbers,
    counts: numbers,
    firstSeenAt: num,
    lastSeenAt: num,
    cursor: fc.record({ occurredAt: num, id: text }, { noNullPrototype: true }),
    stage: text,
    tier: fc.option(text, { nil: null }),
    stageHistory: fc.array(transition, { maxLength: 4 }),
    routes: fc.array(fc.record({ ownerId: text, at: num, rule: text, pick: fc.constantFrom('all' as const, 'first' as const), eventId: text }, { noNullPrototype: true }), { maxLength: 2 }),
    delivered: fc.array(fc.record({ ownerId: text, at: num }, { noNullPrototype: true }), { maxLength: 2 }),
    assignments: fc.dictionary(key, fc.array(text, { maxLength: 2 }), { maxKeys: 2, noNullPrototype: true }),
    signals: fc.dictionary(key, signalState, { maxKeys: 4, noNullPrototype: true }),
    createdAt: num,
    updatedAt: num,
    // The usual case: each route delivered once (the record rebuilds such a list instead of keeping it).
    mirrorDelivered: fc.boolean(),
  })
  .map((g) => {
    const { targetId, sources, breakdownComponents, signals, mirrorDelivered, ...rest } = g;
    if (mirrorDelivered) rest.delivered = rest.routes.map(({ ownerId, at }) => ({ ownerId, at }));
    const l = makeLead({ ...rest, tenantId: 't', breakdown: { sources, components: breakdownComponents }, scoring: { signals } });
    // The engine's key order: targetId right after subjectRef.
    return targetId === undefined ? l : (Object.fromEntries(Object.entries({ ...l, targetId }).sort(([a], [b]) => order(a) - order(b))) as unknown as LeadState);
  });
const order = (k: string) => (k === 'targetId' ? 2.5 : ['id', 'tenantId', 'subjectRef'].includes(k) ? ['id', 'tenantId', 'subjectRef'].indexOf(k) : 3);

/** A lead missing its cursor and routes: the record cannot hold it, the store keeps a clone. */
function bare(): LeadState {
  const l: Partial<LeadState> = makeLead({ tenantId: 't', id: 'bare' });
  delete l.cursor;
  delete l.routes;
  return l as LeadState;
}

async function commitLead(store: MemoryStore, l: LeadState, expectedVersion: number | null): Promise<void> {
  await store.commit(makeBatch('t', { leads: [{ lead: l, expectedVersion }] }));
}

describe('memory store lead records', () => {
  it('read back equal, key order and -0 included, for any lead of the shape the engine writes; a second commit updates it in place', async () => {
    await fc.assert(
      fc.asyncProperty(lead, lead, async (first, second) => {
        const store = new MemoryStore();
        await commitLead(store, first, null);
        const read = (await store.getLead('t', first.id)) as LeadState;
        expect(read).toStrictEqual(first);
        expect(JSON.stringify(read)).toBe(JSON.stringify(first));
        const next = { ...second, id: first.id, version: first.version + 1 };
        await commitLead(store, next, first.version);
        expect(await store.getLead('t', first.id)).toStrictEqual(next);
        expect((await store.listLeads('t')).leads).toStrictEqual([next]);
      }),
      { numRuns: RUNS },
    );
  });

  it('many leads written, rewritten in other shapes and sizes, deleted and created again all read back as last committed (their blocks are reused)', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const step = fc.record({ id: fc.constantFrom(...ids), lead, remove: fc.boolean() }, { noNullPrototype: true });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const store = new MemoryStore();
        const model = new Map<string, LeadState>();
        for (const { id, lead: generated, remove } of steps) {
          const previous = model.get(id);
          if (remove && previous) {
            await store.commit(makeBatch('t', { deleteLeads: [{ id, expectedVersion: previous.version }] }));
            model.delete(id);
          } else {
            const next = { ...generated, id, version: (previous?.version ?? 0) + 1 };
            await commitLead(store, next, previous ? previous.version : null);
            model.set(id, next);
          }
          for (const other of ids) expect(await store.getLead('t', other)).toStrictEqual(model.get(other));
        }
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it('keeps a lead whose numbers outgrow a slab chunk (a window of 40,000 entries), and its neighbours, exactly', async () => {
    const store = new MemoryStore();
    const window = Array.from({ length: 40_000 }, (_, i): [number, number] => [1_700_000_000_000 + i, i / 7]);
    const big = makeLead({ tenantId: 't', id: 'big', scoring: { signals: { view: { value: 3, window } } } });
    const small = makeLead({ tenantId: 't', id: 'small', counts: { view: 2 } });
    await store.commit(makeBatch('t', { leads: [{ lead: small, expectedVersion: null }, { lead: big, expectedVersion: null }] }));
    expect(await store.getLead('t', 'big')).toStrictEqual(big);
    const shrunk = { ...big, version: 2, scoring: { signals: { view: { value: 1, window: window.slice(0, 2) } } } };
    await commitLead(store, shrunk, 1);
    const after = makeLead({ tenantId: 't', id: 'after', counts: { view: 5 } });
    await commitLead(store, after, null);
    expect(await store.getLead('t', 'big')).toStrictEqual(shrunk);
    expect(await store.getLead('t', 'small')).toStrictEqual(small);
    expect(await store.getLead('t', 'after')).toStrictEqual(after);
  });

  it('a rewrite that keeps the read routes but changes the deliveries or owners is stored as written', async () => {
    const store = new MemoryStore();
    const routes = [{ ownerId: 'o', at: 1, rule: 'r', pick: 'all' as const, eventId: 'e' }];
    const l = makeLead({ tenantId: 't', routes, delivered: [{ ownerId: 'o', at: 1 }] });
    await commitLead(store, l, null);
    const read = (await store.getLead('t', l.id)) as LeadState;
    // Same routes list as read (shared with the store), deliveries no longer one per route.
    const next = { ...read, version: 2, delivered: [{ ownerId: 'o', at: 1 }, { ownerId: 'p', at: 2 }] };
    await commitLead(store, next, 1);
    expect(await store.getLead('t', l.id)).toStrictEqual(next);
    const again = (await store.getLead('t', l.id)) as LeadState;
    const owners = { ...again, version: 3, delivered: again.delivered, assignments: { r: ['o'] } };
    await commitLead(store, owners, 2);
    expect(await store.getLead('t', l.id)).toStrictEqual(owners);
  });

  it('reads are independent copies: changing one changes neither the store nor the next read', async () => {
    const store = new MemoryStore();
    const l = makeLead({ tenantId: 't', components: { a: 1 }, stageHistory: [{ from: null, to: 'new', at: 1, cause: 'created' }], scoring: { signals: { view: { value: 2, bucket: 'd1', inBucket: 1 } } } });
    await commitLead(store, l, null);
    const read = (await store.getLead('t', l.id)) as LeadState;
    read.components.a = 5;
    (read.stageHistory[0] as StageTransition).to = 'lost';
    (read.scoring.signals.view as SignalState).value = 9;
    read.breakdown.sources.x = 1;
    expect(await store.getLead('t', l.id)).toStrictEqual(l);
  });

  it('route lists shared between reads are frozen, so a write to them throws instead of changing the store', async () => {
    const store = new MemoryStore();
    const l = makeLead({ tenantId: 't', routes: [{ ownerId: 'o', at: 1, rule: 'r', pick: 'all', eventId: 'e' }], assignments: { r: ['o'] } });
    await commitLead(store, l, null);
    const read = (await store.getLead('t', l.id)) as LeadState;
    expect(() => read.routes.push({ ownerId: 'x', at: 2, rule: 'r', pick: 'all', eventId: 'f' })).toThrow(TypeError);
    expect(() => (read.assignments.r as string[]).push('x')).toThrow(TypeError);
    expect((await store.getLead('t', l.id))?.routes).toHaveLength(1);
  });

  it('keeps a lead of any other shape as a clone, equal on every read', async () => {
    const odd: LeadState[] = [
      { ...makeLead({ tenantId: 't', id: 'extra' }), note: 'kept' } as LeadState,
      makeLead({ tenantId: 't', id: 'string-count', counts: { view: '2' as unknown as number } }),
      makeLead({ tenantId: 't', id: 'date', components: { at: new Date(5) as unknown as number } }),
      makeLead({ tenantId: 't', id: 'nested', scoring: { signals: { view: { value: 1, extra: [1, 2] } as SignalState } } }),
      makeLead({ tenantId: 't', id: 'history', stageHistory: [{ from: null, to: 'new', at: 1, cause: 'created', eventId: undefined }] }),
      { ...makeLead({ tenantId: 't', id: 'undefined-target' }), targetId: undefined },
      // Committed to tenant "t" but naming another: the record does not keep a tenant id of its own.
      makeLead({ tenantId: 'other', id: 'foreign-tenant' }),
      bare(),
    ];
    const store = new MemoryStore();
    await store.commit(makeBatch('t', { leads: odd.map((l) => ({ lead: l, expectedVersion: null })) }));
    for (const l of odd) {
      const read = await store.getLead('t', l.id);
      expect(read).toStrictEqual(l);
      expect(read).not.toBe(l);
    }
    // Filters read a clone defensively, whatever it lacks.
    expect((await store.listLeads('t', { ownerId: 'o', stage: 'new' })).leads).toEqual([]);
    expect((await store.listLeads('t', { limit: 100 })).leads.map((l) => l.id)).toContain('bare');
    // A lead that changes from an odd shape to the usual one (and back) is read back as committed.
    const usual = makeLead({ tenantId: 't', id: 'extra', version: 2, counts: { view: 1 } });
    await commitLead(store, usual, 1);
    expect(await store.getLead('t', 'extra')).toStrictEqual(usual);
    const oddAgain = { ...usual, version: 3, note: 'again' } as LeadState;
    await commitLead(store, oddAgain, 2);
    expect(await store.getLead('t', 'extra')).toStrictEqual(oddAgain);
  });

  it('rejects a lead that is not plain data with an error naming it, and writes nothing of the batch', async () => {
    const store = new MemoryStore();
    const bad = { ...makeLead({ tenantId: 't', id: 'bad' }), hook: () => 1 } as unknown as LeadState;
    const event = makeEvent({ tenantId: 't', id: 'e-1' });
    const good = makeLead({ tenantId: 't', id: 'good' });
    await expect(store.commit(makeBatch('t', { events: [event], leads: [{ lead: good, expectedVersion: null }, { lead: bad, expectedVersion: null }] }))).rejects.toThrow(
      /Lead bad cannot be stored: it holds a value that is not plain data/,
    );
    expect(await store.getLead('t', 'good')).toBeUndefined();
    expect(await store.existingEventIds('t', ['e-1'])).toEqual(new Set());
  });
});
