/**
 * The memory store's synchronous track path (`MemoryStore.syncAccess`) against the asynchronous
 * `Store` path every other store takes: the same calls must give the same results, the same
 * lifecycle events and the same stored data, including replays of late events, identity merges,
 * duplicates, several tenants, invalid batches and a closed store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, isLeadpipeError, ManualClock, MemoryStore, type ConfigInput, type EventInput, type LeadState } from '../../src/index.js';
import { TRACK_CALLS } from '../../src/memory/store.js';
import { MAX_KEYS } from '../../src/memory/string-table.js';
import { errorWhile, reportSize } from '../memory/full-tables.js';

const RUNS = Math.max(20, Math.round(Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 1000) / 5));
const T0 = Date.parse('2026-06-01T10:00:00Z');

const config: ConfigInput = {
  leadKey: ['subjectId', 'targetId'],
  signals: { view: { points: 6, halfLife: '2d' }, bookmark: { points: 20, component: 'intent' }, inquiry: { points: 40, component: 'intent' } },
  scoring: { components: { engagement: { weight: 1 }, intent: { weight: 2 } } },
  qualification: {
    rules: [{ name: 'engaged', conditions: { all: [{ fact: 'score', operator: 'greaterThanInclusive', value: 10 }] }, stage: 'engaged' }],
    tiers: [
      { name: 'hot', minScore: 40 },
      { name: 'cold', minScore: 0 },
    ],
  },
  routing: {
    minScore: 20,
    dedupeWindow: '1d',
    owners: [
      { id: 'op-a', targets: ['t1'], capacity: 3 },
      { id: 'op-b', targets: ['t1', 't2'] },
    ],
    rules: [{ name: 'by-target', to: { owners: 'target', pick: 'round-robin' } }],
  },
};

/** Overriding one track-path method turns the synchronous path off (see `MemoryStore.syncAccess`). */
class AsyncOnlyStore extends MemoryStore {
  override async getLeads(...args: Parameters<MemoryStore['getLeads']>) {
    return super.getLeads(...args);
  }
}

type Op = { kind: 'track'; events: EventInput[] } | { kind: 'many'; events: EventInput[] } | { kind: 'identify'; anonymousId: string; subjectId: string; tenantId?: string } | { kind: 'close' };

const eventArb = fc.record({
  id: fc.integer({ min: 0, max: 40 }).map((n) => `e${n}`),
  type: fc.constantFrom('view', 'view', 'bookmark', 'inquiry', 'search'),
  who: fc.constantFrom('u1', 'u2', 'anon:d1', 'anon:d2'),
  targetId: fc.constantFrom('t1', 't2', undefined),
  minutes: fc.integer({ min: 0, max: 3 * 24 * 4 }).map((q) => q * 15),
  tenant: fc.constantFrom(undefined, undefined, 'other'),
  invalid: fc.integer({ min: 0, max: 30 }).map((n) => n === 0),
});

const toEvent = (r: { id: string; type: string; who: string; targetId: string | undefined; minutes: number; tenant: string | undefined; invalid: boolean }): EventInput => ({
  id: r.id,
  type: r.type,
  ...(r.who.startsWith('anon:') ? { anonymousId: r.who.slice(5) } : { subjectId: r.who }),
  ...(r.targetId ? { targetId: r.targetId } : {}),
  ...(r.tenant ? { tenantId: r.tenant } : {}),
  // An invalid time rejects the whole call, and nothing may be written on either path.
  occurredAt: r.invalid ? 'not a time' : T0 + r.minutes * 60_000,
}) as EventInput;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: eventArb.map((e) => ({ kind: 'track' as const, events: [toEvent(e)] })) },
  { weight: 3, arbitrary: fc.array(eventArb, { minLength: 1, maxLength: 6 }).map((es) => ({ kind: 'many' as const, events: es.map(toEvent) })) },
  { weight: 1, arbitrary: fc.record({ anonymousId: fc.constantFrom('d1', 'd2'), subjectId: fc.constantFrom('u1', 'u2'), tenant: fc.constantFrom(undefined, 'other') }).map((r) => ({ kind: 'identify' as const, anonymousId: r.anonymousId, subjectId: r.subjectId, ...(r.tenant ? { tenantId: r.tenant } : {}) })) },
);

/** Runs the operations on one engine and returns everything observable: outcomes, lifecycle events, stored data. */
async function run(store: MemoryStore, ops: readonly Op[]) {
  const engine = createEngine({ config, store, clock: new ManualClock(T0 + 5 * 86_400_000) });
  const lifecycle: unknown[] = [];
  for (const name of ['lead.created', 'lead.scored', 'lead.stage_changed', 'lead.qualified', 'lead.routed', 'event.tracked', 'event.duplicate', 'event.rejected'] as const) {
    engine.on(name, (payload: unknown) => lifecycle.push([name, structuredClone(payload)]));
  }
  const outcomes: unknown[] = [];
  for (const op of ops) {
    try {
      if (op.kind === 'track') outcomes.push(await engine.track(op.events[0] as EventInput));
      else if (op.kind === 'many') outcomes.push(await engine.trackMany(op.events));
      else if (op.kind === 'identify') outcomes.push(await engine.identify(op));
      else await store.close();
    } catch (error) {
      outcomes.push({ error: (error as { code?: string }).code ?? String(error) });
    }
  }
  if (ops.some((o) => o.kind === 'close')) return { outcomes, lifecycle };
  const data: Record<string, unknown> = {};
  for (const tenant of ['default', 'other']) {
    data[tenant] = {
      leads: (await store.listLeads(tenant, { limit: 1000 })).leads,
      effects: await store.listEffects(tenant),
      audit: await store.listAudit(tenant),
      events: await Promise.all(['u1', 'u2', 'anon:d1', 'anon:d2'].map((s) => store.subjectEvents(tenant, s))),
      counters: await store.getCounters(tenant, ['load:op-a', 'load:op-b', 'rr:by-target']),
    };
  }
  return { outcomes, lifecycle, data };
}

describe('memory store: synchronous and asynchronous track paths', () => {
  it('syncAccess is offered only while no track-path method is overridden', () => {
    const plain = new MemoryStore();
    expect(plain.syncAccess()).toBeDefined();
    expect(new AsyncOnlyStore().syncAccess()).toBeUndefined();
    const patched = new MemoryStore();
    const original = patched.commit.bind(patched);
    patched.commit = (batch) => original(batch);
    expect(patched.syncAccess()).toBeUndefined();
    // Each track-path method on its own (syncAccess checks them one by one).
    for (const name of TRACK_CALLS) {
      const store = new MemoryStore();
      const method = store[name] as (...args: unknown[]) => unknown;
      Object.assign(store, { [name]: (...args: unknown[]) => method.apply(store, args) });
      expect(store.syncAccess(), name).toBeUndefined();
    }
  });

  it(`the same operations give the same results, lifecycle events and stored data on both paths (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.boolean(), async (ops, closeAtEnd) => {
        const all = closeAtEnd ? [...ops, { kind: 'close' as const }, ops[0] as Op] : ops;
        const sync = await run(new MemoryStore(), all);
        const async_ = await run(new AsyncOnlyStore(), all);
        expect(sync).toEqual(async_);
      }),
      { numRuns: RUNS },
    );
  });

  it('on the memory store a track call has committed before it returns; on an asynchronous store it has not', async () => {
    const ev = { id: 'now', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 };
    const plain = new MemoryStore();
    const pending = createEngine({ config, store: plain }).track(ev);
    expect(plain.syncAccess()?.readLeads('default', ['u1|t1'])[0]?.version).toBe(1);
    await pending;
    const slow = new AsyncOnlyStore();
    const later = createEngine({ config, store: slow }).track(ev);
    expect(await slow.existingEventIds('default', ['now'])).toEqual(new Set());
    await later;
    expect(await slow.existingEventIds('default', ['now'])).toEqual(new Set(['now']));
  });

  it('a listener that tracks the same lead while a synchronous batch is under way waits for it: no conflict, no repeated events', async () => {
    const debug: unknown[] = [];
    const logger = { debug: (...a: unknown[]) => debug.push(a), info: () => {}, warn: () => {}, error: () => {} };
    const engine = createEngine({ config, logger, clock: new ManualClock(T0 + 86_400_000) });
    const ev = (id: string, minutes: number) => ({ id, type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 + minutes * 60_000 });
    await engine.track(ev('e1', 0));
    const duplicates: unknown[] = [];
    let inner: Promise<{ leads: Array<{ version: number }> }> | undefined;
    engine.on('event.duplicate', (d) => {
      duplicates.push(d);
      // Emitted in the middle of the batch, before its commit.
      inner ??= engine.track(ev('e3', 20));
    });
    const outer = await engine.trackMany([ev('e1', 0), ev('e2', 10)]);
    expect(outer.map((r) => r.status)).toEqual(['duplicate', 'processed']);
    expect((await inner)?.leads[0]?.version).toBe(3);
    expect(duplicates).toHaveLength(1);
    expect(debug).toEqual([]);
    expect((await engine.getLead({ subjectId: 'u1', targetId: 't1' }))?.counts.view).toBe(3);
  });

  it('trackMany works on its own copy of the array: a caller reusing it at once changes nothing', async () => {
    const store = new AsyncOnlyStore();
    const engine = createEngine({ config, store });
    const buffer: EventInput[] = [
      { id: 'b1', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 },
      { id: 'b2', type: 'view', subjectId: 'u2', targetId: 't1', occurredAt: T0 },
    ];
    const pending = engine.trackMany(buffer);
    buffer.length = 0;
    buffer.push({ id: 'other', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 });
    const results = await pending;
    expect(results.map((r) => [r.status, r.eventId])).toEqual([
      ['processed', 'b1'],
      ['processed', 'b2'],
    ]);
    expect(await store.existingEventIds('default', ['b1', 'b2', 'other'])).toEqual(new Set(['b1', 'b2']));
  });

  it('a Store with a method named readLeads is read through getLeads all the same (readLeads is the memory store\'s synchronous access only)', async () => {
    let called = 0;
    class WithReadLeads extends AsyncOnlyStore {
      readLeads(): never {
        called++;
        throw new Error('not the memory store\'s synchronous readLeads');
      }
    }
    const store = new WithReadLeads();
    const engine = createEngine({ config, store, clock: new ManualClock(Date.parse('2025-06-02T09:00:00Z')) });
    await engine.track({ id: 'r1', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: '2025-06-02T08:00:00Z' });
    const [second] = await engine.trackMany([{ id: 'r2', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: '2025-06-02T08:05:00Z' }]);
    expect(second?.leads[0]?.version).toBe(2);
    expect(called).toBe(0);
  });

  it('a method replaced on the prototype (a spy) turns the synchronous path off too', () => {
    const original = MemoryStore.prototype.getProfile;
    try {
      MemoryStore.prototype.getProfile = async function (this: MemoryStore, ...args: Parameters<MemoryStore['getProfile']>) {
        return original.apply(this, args);
      };
      expect(new MemoryStore().syncAccess()).toBeUndefined();
    } finally {
      MemoryStore.prototype.getProfile = original;
    }
    expect(new MemoryStore().syncAccess()).toBeDefined();
  });

  it('a listener that tracks again from inside a synchronous batch sees the batch committed', async () => {
    const engine = createEngine({ config, clock: new ManualClock(T0 + 86_400_000) });
    const seen: number[] = [];
    engine.once('lead.created', () => {
      void engine.track({ id: 'inner', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 + 1000 }).then((r) => seen.push(r.leads[0]?.version ?? -1));
    });
    const outer = await engine.track({ id: 'outer', type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(outer.leads[0]?.version).toBe(1);
    expect(seen).toEqual([2]);
    expect((await engine.getLead({ subjectId: 'u1', targetId: 't1' }))?.counts.view).toBe(2);
  });
});

/**
 * On the memory store's synchronous path a batch claims its event ids before folding (one hash
 * operation per event, see `SyncStoreAccess.claimEventIds`). These check the claim's edges: a
 * batch that fails gives them back, and nothing outside the batch ever sees an id it has not
 * committed, so no event is lost or stored twice.
 */
describe('event ids claimed by a synchronous batch', () => {
  /** A config whose qualification rule runs the custom operator `probe` on every event. */
  const probed: ConfigInput = {
    ...config,
    qualification: { ...config.qualification, rules: [{ name: 'probe', conditions: { all: [{ fact: 'score', operator: 'probe', value: 0 }] }, stage: 'engaged' }] },
  };
  const ev = (id: string, minutes = 0): EventInput => ({ id, type: 'view', subjectId: 'u1', targetId: 't1', occurredAt: T0 + minutes * 60_000 });
  /** An engine on `store` whose rule calls `probe` for every event. */
  const probedEngine = (store: MemoryStore, probe: () => boolean) => createEngine({ config: probed, store, operators: { probe } });

  for (const path of ['synchronous', 'asynchronous'] as const) {
    for (const table of ['events', 'timelines'] as const) {
      it(`a full ${table} table refuses a track call on the ${path} path with STORE_FULL, taking no id`, async () => {
        const store = path === 'synchronous' ? new MemoryStore() : new AsyncOnlyStore();
        const engine = createEngine({ config, store });
        await engine.track(ev('a'));
        // The id index (a StringSet) or the timelines (a StringMap) report one key short of their limit
        // (a real full one takes ~25M keys). Two more ids are refused by the synchronous path's claim
        // or by the commit; the timelines by the commit, the claim then given back.
        const error = await errorWhile(reportSize(table === 'events' ? 'StringSet' : 'StringMap', MAX_KEYS - 1), () => engine.trackMany([ev('b', 1), ev('c', 2)]));
        expect(isLeadpipeError(error, 'STORE_FULL')).toBe(true);
        expect(error).toMatchObject({ details: { tenantId: 'default', table, adding: 2 } });
        expect(await store.existingEventIds('default', ['a', 'b', 'c'])).toEqual(new Set(['a']));
        expect((await store.getLead('default', 'u1|t1'))?.counts).toEqual({ view: 1 });
        if (path === 'synchronous') expect(store.syncAccess()).toBeDefined();
        expect((await engine.trackMany([ev('b', 1), ev('c', 2)])).map((r) => r.status)).toEqual(['processed', 'processed']);
        expect((await store.getLead('default', 'u1|t1'))?.counts).toEqual({ view: 3 });
      });
    }
  }

  it('a batch that fails in the middle gives its ids back: nothing is stored, and the same events go through afterwards', async () => {
    let fail = true;
    const store = new MemoryStore();
    const engine = probedEngine(store, () => {
      if (fail) throw new Error('probe failed');
      return true;
    });
    await expect(engine.trackMany([ev('a'), ev('b', 1), { ...ev('c', 2), tenantId: 'other' }])).rejects.toThrow('probe failed');
    expect(await store.existingEventIds('default', ['a', 'b'])).toEqual(new Set());
    expect(await store.existingEventIds('other', ['c'])).toEqual(new Set());
    expect(await store.subjectEvents('default', 'u1')).toEqual([]);
    expect((await store.listLeads('default')).leads).toEqual([]);
    expect(store.syncAccess()).toBeDefined();
    fail = false;
    const results = await engine.trackMany([ev('a'), ev('b', 1), ev('a')]);
    expect(results.map((r) => r.status)).toEqual(['processed', 'processed', 'duplicate']);
    expect((await store.subjectEvents('default', 'u1')).map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('a batch of duplicates only closes its claim too: the next call takes the synchronous path', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ config, store });
    await engine.track(ev('a'));
    expect((await engine.trackMany([ev('a'), ev('a')])).map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(store.syncAccess()).toBeDefined();
    const pending = engine.track(ev('b', 1));
    // Committed before the call returns: it ran synchronously.
    expect(await store.existingEventIds('default', ['b'])).toEqual(new Set(['b']));
    expect((await pending).status).toBe('processed');
  });

  it('a lead written to the store from inside the batch is seen at its commit: a conflict, retried, and nothing overwritten', async () => {
    const made = (await createEngine({ config }).track(ev('x'))).leads[0];
    const store = new MemoryStore();
    let written = false;
    const engine = probedEngine(store, () => {
      if (!written) {
        written = true;
        // Runs synchronously, between the batch's read (no lead yet) and its commit.
        void store.commit({ tenantId: 'default', events: [], leads: [{ lead: made as LeadState, expectedVersion: null }], effects: [] });
      }
      return true;
    });
    const result = await engine.track(ev('a', 1));
    expect(result.status).toBe('processed');
    expect(result.leads[0]?.version).toBe(2);
    expect((await store.getLead('default', 'u1|t1'))?.counts).toEqual({ view: 2 });
  });

  it('a commit from inside the batch that adds a claimed id is a conflict; retried after a failed batch, it succeeds', async () => {
    const store = new MemoryStore();
    const event = { id: 'same', tenantId: 'default', type: 'view', subjectRef: 'u9', subjectId: 'u9', occurredAt: T0, properties: {}, context: {}, receivedAt: T0 };
    let inside: Promise<void> | undefined;
    const engine = probedEngine(store, () => {
      inside ??= store.commit({ tenantId: 'default', events: [event], leads: [], effects: [] });
      throw new Error('batch failed');
    });
    await expect(engine.track(ev('same'))).rejects.toThrow('batch failed');
    await expect(inside).rejects.toMatchObject({ code: 'DUPLICATE_EVENT' });
    await store.commit({ tenantId: 'default', events: [event], leads: [], effects: [] });
    expect((await store.subjectEvents('default', 'u9')).map((e) => e.id)).toEqual(['same']);
    expect(await store.existingEventIds('default', ['same'])).toEqual(new Set(['same']));
  });

  for (const outcome of ['commits', 'fails'] as const) {
    it(`another engine tracking the same event from inside a batch that ${outcome} stores it exactly once`, async () => {
      const store = new MemoryStore();
      const second = createEngine({ config, store });
      let inner: Promise<{ status: string }> | undefined;
      let seenInside: Set<string> | undefined;
      const first = probedEngine(store, () => {
        if (!inner) {
          // The claim is open: the store offers no synchronous path and does not count the id.
          expect(store.syncAccess()).toBeUndefined();
          void store.existingEventIds('default', ['same']).then((ids) => (seenInside = ids));
          inner = second.track(ev('same'));
          if (outcome === 'fails') throw new Error('first batch failed');
        }
        return true;
      });
      const outer = first.track(ev('same'));
      if (outcome === 'fails') await expect(outer).rejects.toThrow('first batch failed');
      else expect((await outer).status).toBe('processed');
      expect((await inner)?.status).toBe(outcome === 'fails' ? 'processed' : 'duplicate');
      expect(seenInside).toEqual(new Set());
      expect((await store.subjectEvents('default', 'u1')).map((e) => e.id)).toEqual(['same']);
      expect((await store.getLead('default', 'u1|t1'))?.counts).toEqual({ view: 1 });
      expect(store.syncAccess()).toBeDefined();
    });
  }
});
