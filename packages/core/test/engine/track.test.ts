import { describe, expect, it } from 'vitest';
import { createEngine, EventError, ManualClock, MemoryStore, type ConfigInput, type EventInput } from '../../src/index.js';

const T0 = Date.parse('2026-06-01T10:00:00Z'); // a Monday
const config: ConfigInput = {
  signals: { view: { points: 10 }, form: { points: 40, component: 'intent' } },
  scoring: { components: { engagement: { weight: 1 }, intent: { weight: 1 } } },
};

const ev = (id: string, extra: Partial<EventInput> = {}): EventInput => ({ id, type: 'view', subjectId: 'u1', occurredAt: T0, ...extra });

describe('track', () => {
  it('stores and scores an event, and reports a replay of the same id as a duplicate that changes nothing', async () => {
    const engine = createEngine({ config, clock: new ManualClock(T0) });
    const first = await engine.track(ev('e1'));
    expect(first.status).toBe('processed');
    expect(first.leads[0]?.score).toBe(5); // engagement 10/100 → 10, intent 0 → mean 5
    const again = await engine.track(ev('e1', { occurredAt: T0 + 1000 }));
    expect(again.status).toBe('duplicate');
    const lead = await engine.getLead({ subjectId: 'u1' });
    expect(lead?.version).toBe(1);
    expect(lead?.counts.view).toBe(1);
  });

  it('gives every result a lead of its own: no part shared with another lead or frozen (the step works from shared empty parts and partly read leads)', async () => {
    const engine = createEngine({ config, clock: new ManualClock(T0) });
    const results = [
      await engine.track(ev('e1')),
      await engine.track(ev('e2', { occurredAt: T0 + 1000 })),
      ...(await engine.trackMany([ev('e3', { subjectId: 'u2' }), ev('e4', { occurredAt: T0 + 2000, type: 'form' }), ev('e5', { subjectId: 'u2', occurredAt: T0 + 3000 })])),
    ];
    const leads = results.map((r) => r.leads[0]!);
    const parts = (l: (typeof leads)[number]) => [l.components, l.breakdown, l.breakdown.sources, l.breakdown.components, l.counts, l.cursor, l.scoring, l.scoring.signals];
    const seen = new Set<object>();
    for (const lead of leads) {
      for (const part of parts(lead)) {
        expect(Object.isFrozen(part)).toBe(false);
        expect(seen.has(part)).toBe(false);
        seen.add(part);
      }
      expect(Object.keys(lead.components).sort()).toEqual(['engagement', 'intent']);
    }
    // The second event of u1 was folded into the lead read back from the store.
    expect(leads[1]!.counts).toEqual({ view: 2 });
    expect(leads[3]!.counts).toEqual({ view: 2, form: 1 });
  });

  it('rejects an invalid event naming each bad field, and writes nothing', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ config, store });
    const rejected: unknown[] = [];
    engine.on('event.rejected', (e) => rejected.push(e));
    const bad = { id: '', type: 'view', occurredAt: '2026-13-45', extra: 1 } as unknown as EventInput;
    const error = await engine.track(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventError);
    const paths = (error as EventError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['id', 'occurredAt', 'subjectId']));
    expect((error as EventError).issues.some((i) => /"extra"/.test(i.message))).toBe(true);
    expect(rejected).toHaveLength(1);
    expect(await store.existingEventIds('default', [''])).toEqual(new Set());
    expect((await store.listLeads('default')).leads).toEqual([]);
  });

  it('reports a failure of track() as a rejected promise, never a synchronous throw, on the memory store\'s synchronous path too', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ config, store });
    await store.close();
    // The batch runs synchronously and the closed store throws inside it; the caller still gets a promise.
    let pending: Promise<unknown> | undefined;
    expect(() => (pending = engine.track(ev('e1')))).not.toThrow();
    await expect(pending).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    // A listener that throws while an invalid event is reported: a rejection with its error too.
    const listening = createEngine({ config });
    listening.on('event.rejected', () => {
      throw new Error('listener failed');
    });
    let rejected: Promise<unknown> | undefined;
    expect(() => (rejected = listening.track({ id: '' } as unknown as EventInput))).not.toThrow();
    await expect(rejected).rejects.toThrow('listener failed');
  });

  it('trackMany validates the whole batch first: one bad event means nothing is written', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ config, store });
    const error = await engine.trackMany([ev('a'), ev('b'), { ...ev('c'), occurredAt: 'yesterday' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventError);
    expect((error as EventError).issues.map((i) => i.path)).toEqual(['[2].occurredAt']);
    expect(await store.existingEventIds('default', ['a', 'b'])).toEqual(new Set());
    const ok = await engine.trackMany([ev('a'), ev('b', { occurredAt: T0 + 1 }), ev('a')]);
    expect(ok.map((r) => r.status)).toEqual(['processed', 'processed', 'duplicate']);
  });

  it('stores events whose type is not a signal without scoring them', async () => {
    const engine = createEngine({ config });
    const result = await engine.track(ev('x', { type: 'login' }));
    expect(result.status).toBe('stored');
    expect(await engine.getLead({ subjectId: 'u1' })).toBeUndefined();
    expect((await engine.store.subjectEvents('default', 'u1')).map((e) => e.id)).toEqual(['x']);
  });

  it('keeps tenants apart: same ids and subjects in two tenants are independent', async () => {
    const engine = createEngine({ config });
    await engine.track(ev('e1', { tenantId: 'acme' }));
    const other = await engine.track(ev('e1', { tenantId: 'globex', type: 'form' }));
    expect(other.status).toBe('processed');
    expect((await engine.getLead({ tenantId: 'acme', subjectId: 'u1' }))?.counts).toEqual({ view: 1 });
    expect((await engine.getLead({ tenantId: 'globex', subjectId: 'u1' }))?.counts).toEqual({ form: 1 });
    expect(await engine.getLead({ subjectId: 'u1' })).toBeUndefined();
  });

  it('withholds events without the required consent: not stored, not scored, reported', async () => {
    const engine = createEngine({ config: { ...config, privacy: { consent: { required: true, purpose: 'marketing' } } } });
    const rejected: string[] = [];
    engine.on('event.rejected', (e) => rejected.push(e.code));
    const withheld = await engine.track(ev('e1'));
    expect(withheld).toMatchObject({ status: 'rejected', reason: 'CONSENT_REQUIRED' });
    expect(await engine.store.existingEventIds('default', ['e1'])).toEqual(new Set());
    const granted = await engine.track(ev('e2', { context: { consent: { marketing: true } } }));
    expect(granted.status).toBe('processed');
    expect(rejected).toEqual(['CONSENT_REQUIRED']);
  });

  it('identify moves the anonymous history to the subject and rescores with the merged history and profile', async () => {
    const engine = createEngine({
      config: {
        signals: { view: { points: 10, cap: { max: 2, per: 'day' } } },
        scoring: { fit: [{ name: 'local', conditions: { all: [{ fact: 'profile', path: '$.zip', operator: 'in', value: ['60601', '60602'] }] }, points: 20, component: 'engagement' }] },
      },
    });
    await engine.track(ev('a1', { subjectId: undefined, anonymousId: 'anon-1' }));
    await engine.track(ev('a2', { subjectId: undefined, anonymousId: 'anon-1', occurredAt: T0 + 60_000 }));
    await engine.track(ev('s1', { occurredAt: T0 + 120_000 }));
    expect((await engine.getLead({ subjectId: 'u1' }))?.score).toBe(10);
    const merged = await engine.identify({ anonymousId: 'anon-1', subjectId: 'u1', traits: { zip: '60601' } });
    const lead = merged.leads[0];
    // Three views the same day, capped at two, plus 20 fit points.
    expect(lead?.counts.view).toBe(3);
    expect(lead?.score).toBe(40);
    expect(lead?.breakdown.sources).toEqual({ view: 20, 'fit:local': 20 });
    expect(await engine.getLead({ anonymousId: 'anon-1' })).toBeUndefined();
    // Later anonymous events of that device belong to the subject.
    const later = await engine.track(ev('a3', { subjectId: undefined, anonymousId: 'anon-1', occurredAt: T0 + 86_400_000 }));
    expect(later.leads[0]?.id).toBe('u1');
    // An anonymous id belongs to one person.
    await expect(engine.identify({ anonymousId: 'anon-1', subjectId: 'someone-else' })).rejects.toMatchObject({ code: 'EVENT_INVALID' });
  });

  it('serialises concurrent tracks of one person in a process: all count', async () => {
    const engine = createEngine({ config });
    await Promise.all(Array.from({ length: 20 }, (_, i) => engine.track(ev(`c${i}`, { occurredAt: T0 + (i % 5) * 1000 }))));
    const lead = await engine.getLead({ subjectId: 'u1' });
    expect(lead?.counts.view).toBe(20);
    expect(lead?.version).toBe(20);
  });

  it('retries version conflicts between workers sharing a store: nothing lost, nothing doubled', async () => {
    const store = new MemoryStore();
    const workers = [1, 2, 3].map(() => createEngine({ config, store, maxConflictRetries: 50 }));
    const conflicts: number[] = [];
    const original = store.commit.bind(store);
    store.commit = async (batch) => {
      try {
        return await original(batch);
      } catch (error) {
        conflicts.push(1);
        throw error;
      }
    };
    const events = Array.from({ length: 30 }, (_, i) => ev(`w${i}`, { occurredAt: T0 + ((i * 7) % 11) * 1000 }));
    // Every event is sent to two workers, as an at-least-once queue may do.
    await Promise.all(workers.map((w, k) => Promise.all(events.filter((_, i) => i % 3 !== k).map((e) => w.track(e)))));
    const lead = await store.getLead('default', 'u1');
    expect(lead?.counts.view).toBe(30);
    expect(lead?.version).toBe(30);
    expect(conflicts.length).toBeGreaterThan(0);
  });
});
