/**
 * The {@link Store} conformance suite: the behaviour every store adapter must have, written once
 * and run against the memory store and every adapter.
 * @module
 */
import { expect } from 'vitest';
import type { CommitBatch, Store } from '../contracts.js';
import { isLeadpipeError, type ErrorCode } from '../errors.js';
import type { LeadState, OutboxEntry, StoredEvent } from '../types.js';
import { makeAudit, makeBatch, makeEffect, makeEvent, makeLead, makeProfile } from './builders.js';
import { defineSuite, describeError, rejectionOf, uniqueNamespace, type ConformanceOptions } from './suite.js';

/** What a store factory returns: a store to test, and how to release it after the test. */
export interface StoreFixture {
  store: Store;
  /** Called after each test, pass or fail (also after a test that closed the store itself). */
  cleanup?: () => Promise<void>;
}

/** Context of one store test. */
interface StoreCtx {
  store: Store;
  /** A tenant id no other test uses. */
  tenant: string;
  /**
   * The base time of this test. Each test gets a window below the previous test's, so outbox entries
   * left by earlier tests (claims are not tenant-scoped) are never claimable at this test's times.
   */
  t0: number;
}

const TOP_WINDOW = Date.UTC(2200, 0, 1);
const WINDOW_MS = 1_000_000_000; // ~11.6 days per test
let windows = 0;

/**
 * Register the {@link Store} conformance suite with vitest (`describe` / `it`).
 *
 * `factory` is called once per test. It may return a fresh store each time, or stores over one
 * shared backend: every test works in its own tenant. Outbox claims are not tenant-scoped, so tests
 * claim at times that decrease from test to test and never see entries an earlier test left behind;
 * run store suites that share a backend one after another, not in parallel processes.
 *
 * Requirements beyond the {@link Store} interface's own words, which the suite checks:
 * rejected commits write nothing at all; an effect id already in the outbox is ignored (ids are
 * idempotency keys); `completeEffect` / `failEffect` of an unknown id reject with `NOT_FOUND`;
 * aliases move anonymous events committed in the same batch too; a lease holds while
 * `now < leaseUntil`; audit entries list in append order.
 *
 * @param name - Shown in the suite title, e.g. `'postgres (PGlite)'`.
 * @param factory - Builds the store under test (called once per test).
 * @param options - {@link ConformanceOptions}: tests to skip, each with a reason.
 * @example
 * ```ts
 * // test/postgres-store.test.ts
 * import { storeConformance } from '@leadpipe/core/testing';
 * storeConformance('postgres', async () => {
 *   const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL });
 *   return { store, cleanup: () => store.close() };
 * });
 * ```
 */
export function storeConformance(name: string, factory: () => Promise<StoreFixture>, options: ConformanceOptions = {}): void {
  const setup = async (testName: string): Promise<{ ctx: StoreCtx; teardown: () => Promise<void> }> => {
    const { store, cleanup } = await factory();
    windows += 1;
    const ctx: StoreCtx = { store, tenant: uniqueNamespace(testName), t0: TOP_WINDOW - windows * WINDOW_MS };
    return { ctx, teardown: async () => cleanup?.() };
  };

  defineSuite<StoreCtx>(`Store conformance: ${name}`, options, setup, (test) => {
    // ─── commit and read back ──────────────────────────────────────────────────────────────

    test('commit writes events, leads, effects, audit, aliases, profiles and counters', async ({ store, tenant, t0 }) => {
      const e1 = makeEvent({ tenantId: tenant, id: 'e-1', subjectId: 's-1', targetId: 'x', occurredAt: t0 + 10, properties: { a: 1 } });
      const e2 = makeEvent({ tenantId: tenant, id: 'e-2', anonymousId: 'anon-1', occurredAt: t0 + 20, context: { consent: { marketing: true } } });
      const lead = makeLead({ tenantId: tenant, subjectRef: 's-1', targetId: 'x', score: 42.5, stage: 'engaged', tier: 'warm', lastSeenAt: t0 + 10 });
      const effect = makeEffect({ tenantId: tenant, leadId: lead.id, createdAt: t0 });
      const audit = makeAudit({ tenantId: tenant, at: t0, leadId: lead.id, data: { from: 'new', to: 'engaged' } });
      const profile = makeProfile({ tenantId: tenant, subjectId: 's-1', traits: { plan: 'pro', seats: 3 }, updatedAt: t0 });
      await store.commit(
        makeBatch(tenant, {
          events: [e1, e2],
          leads: [{ lead, expectedVersion: null }],
          effects: [effect],
          audit: [audit],
          aliases: [{ anonymousId: 'anon-2', subjectId: 's-2' }],
          profiles: [profile],
          counters: [{ key: 'rr:rule-1', delta: 3 }],
        }),
      );

      expect(await store.existingEventIds(tenant, ['e-1', 'e-2', 'e-3'])).toEqual(new Set(['e-1', 'e-2']));
      expect(await store.getLead(tenant, lead.id)).toEqual(lead);
      expect(await store.subjectEvents(tenant, 's-1')).toEqual([e1]);
      expect(await store.subjectEvents(tenant, 'anon:anon-1')).toEqual([e2]);
      expect(await store.resolveAlias(tenant, 'anon-2')).toBe('s-2');
      expect(await store.getProfile(tenant, 's-1')).toEqual(profile);
      expect((await store.getCounters(tenant, ['rr:rule-1'])).get('rr:rule-1')).toBe(3);
      expect(await store.listAudit(tenant)).toEqual([audit]);
      const effects = await store.listEffects(tenant);
      expect(effects).toHaveLength(1);
      expect(effects[0]).toMatchObject({ effect, status: 'pending', attempts: 0 });
    });

    test('a new lead (expectedVersion null) conflicts when the lead exists', async ({ store, tenant }) => {
      const lead = makeLead({ tenantId: tenant });
      await store.commit(makeBatch(tenant, { leads: [{ lead, expectedVersion: null }] }));
      await expectConflict(
        store.commit(makeBatch(tenant, { leads: [{ lead: { ...lead, score: 99 }, expectedVersion: null }] })),
        'VERSION_CONFLICT',
        { leadId: lead.id },
      );
      expect((await store.getLead(tenant, lead.id))?.score).toBe(0);
    });

    test('a write conflicts when the lead is missing or at another version', async ({ store, tenant }) => {
      const lead = makeLead({ tenantId: tenant, version: 1 });
      await expectConflict(store.commit(makeBatch(tenant, { leads: [{ lead: { ...lead, version: 2 }, expectedVersion: 1 }] })), 'VERSION_CONFLICT', {
        leadId: lead.id,
      });
      expect(await store.getLead(tenant, lead.id)).toBeUndefined();

      await store.commit(makeBatch(tenant, { leads: [{ lead, expectedVersion: null }] }));
      const v2 = { ...lead, version: 2, score: 10 };
      await store.commit(makeBatch(tenant, { leads: [{ lead: v2, expectedVersion: 1 }] }));
      expect(await store.getLead(tenant, lead.id)).toEqual(v2);
      // A writer that read version 1 is now stale.
      await expectConflict(store.commit(makeBatch(tenant, { leads: [{ lead: { ...lead, version: 2, score: 20 }, expectedVersion: 1 }] })), 'VERSION_CONFLICT', {
        leadId: lead.id,
      });
      await expectConflict(store.commit(makeBatch(tenant, { leads: [{ lead: { ...lead, version: 4 }, expectedVersion: 3 }] })), 'VERSION_CONFLICT');
      expect(await store.getLead(tenant, lead.id)).toEqual(v2);
    });

    // ─── atomicity ─────────────────────────────────────────────────────────────────────────

    test('a batch with one bad version writes nothing', async ({ store, tenant, t0 }) => {
      const fx = await atomicityFixture(store, tenant, t0);
      const before = await observe(store, tenant, fx.probe);
      const batch = fx.badBatch();
      // The stale write comes last, after every other part of the batch.
      batch.leads.push({ lead: { ...fx.existing, version: 8, score: 77 }, expectedVersion: 7 });
      await expectConflict(store.commit(batch), 'VERSION_CONFLICT', { leadId: fx.existing.id });
      expect(await observe(store, tenant, fx.probe)).toEqual(before);
    });

    test('a batch with an event id already stored writes nothing', async ({ store, tenant, t0 }) => {
      const fx = await atomicityFixture(store, tenant, t0);
      const before = await observe(store, tenant, fx.probe);
      const batch = fx.badBatch();
      batch.events.push(makeEvent({ tenantId: tenant, id: fx.existingEventId, subjectId: 's-x', occurredAt: t0 + 500 }));
      await expectConflict(store.commit(batch), 'DUPLICATE_EVENT', { eventId: fx.existingEventId });
      expect(await observe(store, tenant, fx.probe)).toEqual(before);
    });

    test('a batch with the same event id twice writes nothing', async ({ store, tenant, t0 }) => {
      const fx = await atomicityFixture(store, tenant, t0);
      const before = await observe(store, tenant, fx.probe);
      const batch = fx.badBatch();
      const first = batch.events[0] as StoredEvent;
      batch.events.push({ ...first, occurredAt: first.occurredAt + 1 });
      await expectConflict(store.commit(batch), 'DUPLICATE_EVENT', { eventId: first.id });
      expect(await observe(store, tenant, fx.probe)).toEqual(before);
      expect(await store.existingEventIds(tenant, [first.id])).toEqual(new Set());
    });

    test('an effect whose id is already in the outbox is kept as it was; the rest of the batch commits', async ({ store, tenant, t0 }) => {
      const fx = await atomicityFixture(store, tenant, t0);
      const [original] = await store.listEffects(tenant, { leadId: fx.existing.id });
      expect(original, 'the fixture has one effect').toBeDefined();
      const again = makeEffect({ tenantId: tenant, id: fx.existingEffectId, leadId: fx.existing.id, createdAt: t0 + 99 });
      const fresh = makeEffect({ tenantId: tenant, id: `${fx.existingEffectId}-new`, leadId: fx.existing.id, createdAt: t0 + 1 });
      await store.commit(makeBatch(tenant, { effects: [again, fresh, { ...fresh, createdAt: t0 + 50 }] }));
      const after = await store.listEffects(tenant, { leadId: fx.existing.id });
      expect(after.map((e) => e.effect.id).sort()).toEqual([fx.existingEffectId, `${fx.existingEffectId}-new`].sort());
      expect(after.find((e) => e.effect.id === fx.existingEffectId)).toEqual(original);
      expect(after.find((e) => e.effect.id === fresh.id)?.effect.createdAt).toBe(t0 + 1);
    });

    // ─── concurrency ───────────────────────────────────────────────────────────────────────

    test('concurrent commits from the same version: exactly one wins', async ({ store, tenant, t0 }) => {
      const lead = makeLead({ tenantId: tenant, version: 1 });
      await store.commit(makeBatch(tenant, { leads: [{ lead, expectedVersion: null }] }));
      const writers = Array.from({ length: 6 }, (_, i) =>
        makeBatch(tenant, {
          events: [makeEvent({ tenantId: tenant, id: `ev-${i}`, occurredAt: t0 + i })],
          leads: [{ lead: { ...lead, version: 2, score: i + 1 }, expectedVersion: 1 }],
          effects: [makeEffect({ tenantId: tenant, id: `${tenant}-eff-${i}`, leadId: lead.id, createdAt: t0 })],
          counters: [{ key: 'writes', delta: 1 }],
        }),
      );
      const results = await Promise.allSettled(writers.map((b) => store.commit(b)));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners, 'exactly one of the concurrent commits must succeed').toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isLeadpipeError(r.reason, 'VERSION_CONFLICT'), describeError(r.reason)).toBe(true);
      const w = winners[0] as number;
      expect(await store.getLead(tenant, lead.id)).toMatchObject({ version: 2, score: w + 1 });
      expect(await store.existingEventIds(tenant, writers.map((_, i) => `ev-${i}`))).toEqual(new Set([`ev-${w}`]));
      expect((await store.listEffects(tenant)).map((e) => e.effect.id)).toEqual([`${tenant}-eff-${w}`]);
      expect((await store.getCounters(tenant, ['writes'])).get('writes')).toBe(1);
    });

    test('concurrent commits creating the same lead: exactly one wins', async ({ store, tenant }) => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => store.commit(makeBatch(tenant, { leads: [{ lead: makeLead({ tenantId: tenant, score: i }), expectedVersion: null }] }))),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isLeadpipeError(r.reason, 'VERSION_CONFLICT'), describeError(r.reason)).toBe(true);
      expect((await store.getLead(tenant, 'subject-1'))?.score).toBe(winners[0]);
    });

    test('concurrent commits of the same event id: exactly one wins', async ({ store, tenant, t0 }) => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          store.commit(
            makeBatch(tenant, {
              events: [makeEvent({ tenantId: tenant, id: 'same-event', subjectId: `s-${i}`, occurredAt: t0 })],
              leads: [{ lead: makeLead({ tenantId: tenant, subjectRef: `s-${i}` }), expectedVersion: null }],
            }),
          ),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isLeadpipeError(r.reason, 'DUPLICATE_EVENT'), describeError(r.reason)).toBe(true);
      const leads = await store.getLeads(tenant, Array.from({ length: 6 }, (_, i) => `s-${i}`));
      expect([...leads.keys()]).toEqual([`s-${winners[0]}`]);
    });

    // ─── leads ─────────────────────────────────────────────────────────────────────────────

    test('deleteLeads removes leads, checking their version', async ({ store, tenant }) => {
      const a = makeLead({ tenantId: tenant, subjectRef: 'anon:a-1' });
      const b = makeLead({ tenantId: tenant, subjectRef: 's-1' });
      await store.commit(makeBatch(tenant, { leads: [{ lead: a, expectedVersion: null }, { lead: b, expectedVersion: null }] }));
      await expectConflict(store.commit(makeBatch(tenant, { deleteLeads: [{ id: a.id, expectedVersion: 2 }] })), 'VERSION_CONFLICT', { leadId: a.id });
      await expectConflict(store.commit(makeBatch(tenant, { deleteLeads: [{ id: 'missing', expectedVersion: 1 }] })), 'VERSION_CONFLICT');
      expect(await store.getLead(tenant, a.id)).toEqual(a);

      const merged = { ...b, version: 2, score: 30 };
      await store.commit(makeBatch(tenant, { leads: [{ lead: merged, expectedVersion: 1 }], deleteLeads: [{ id: a.id, expectedVersion: 1 }] }));
      expect(await store.getLead(tenant, a.id)).toBeUndefined();
      expect(await store.getLead(tenant, b.id)).toEqual(merged);
      expect((await store.listLeads(tenant)).leads.map((l) => l.id)).toEqual([b.id]);
    });

    test('getLead, getLeads and existingEventIds return only what exists', async ({ store, tenant, t0 }) => {
      const l1 = makeLead({ tenantId: tenant, subjectRef: 's-1' });
      const l2 = makeLead({ tenantId: tenant, subjectRef: 's-2', targetId: 't' });
      await store.commit(
        makeBatch(tenant, {
          events: [makeEvent({ tenantId: tenant, id: 'e-1', occurredAt: t0 }), makeEvent({ tenantId: tenant, id: 'e-2', occurredAt: t0 })],
          leads: [
            { lead: l1, expectedVersion: null },
            { lead: l2, expectedVersion: null },
          ],
        }),
      );
      expect(await store.getLead(tenant, 'nope')).toBeUndefined();
      const found = await store.getLeads(tenant, [l2.id, 'nope', l1.id]);
      expect(found.size).toBe(2);
      expect(found.get(l1.id)).toEqual(l1);
      expect(found.get(l2.id)).toEqual(l2);
      expect((await store.getLeads(tenant, [])).size).toBe(0);
      expect(await store.existingEventIds(tenant, ['e-2', 'e-3', 'e-1'])).toEqual(new Set(['e-1', 'e-2']));
      expect(await store.existingEventIds(tenant, [])).toEqual(new Set());
    });

    test('listLeads filters by stage, tier, subject, target, owner and minimum score', async ({ store, tenant, t0 }) => {
      const route = (ownerId: string) => ({ ownerId, at: t0, rule: 'r', pick: 'first' as const, eventId: 'e' });
      const leads = [
        makeLead({ tenantId: tenant, id: 'l-1', subjectRef: 's-1', targetId: 't-1', stage: 'new', tier: null, score: 10 }),
        makeLead({ tenantId: tenant, id: 'l-2', subjectRef: 's-1', targetId: 't-2', stage: 'qualified', tier: 'hot', score: 80, routes: [route('o-1')] }),
        makeLead({ tenantId: tenant, id: 'l-3', subjectRef: 's-2', targetId: 't-1', stage: 'qualified', tier: 'warm', score: 50, routes: [route('o-1'), route('o-2')] }),
        makeLead({ tenantId: tenant, id: 'l-4', subjectRef: 's-3', stage: 'routed', tier: 'hot', score: 95.5, routes: [route('o-2')] }),
      ];
      await store.commit(makeBatch(tenant, { leads: leads.map((lead) => ({ lead, expectedVersion: null })) }));
      const ids = async (filter: Parameters<Store['listLeads']>[1]) => (await store.listLeads(tenant, filter)).leads.map((l) => l.id).sort();
      expect(await ids(undefined)).toEqual(['l-1', 'l-2', 'l-3', 'l-4']);
      expect(await ids({ stage: 'qualified' })).toEqual(['l-2', 'l-3']);
      expect(await ids({ tier: 'hot' })).toEqual(['l-2', 'l-4']);
      expect(await ids({ subjectRef: 's-1' })).toEqual(['l-1', 'l-2']);
      expect(await ids({ targetId: 't-1' })).toEqual(['l-1', 'l-3']);
      expect(await ids({ ownerId: 'o-1' })).toEqual(['l-2', 'l-3']);
      expect(await ids({ ownerId: 'o-2' })).toEqual(['l-3', 'l-4']);
      expect(await ids({ ownerId: 'nobody' })).toEqual([]);
      expect(await ids({ minScore: 50 })).toEqual(['l-2', 'l-3', 'l-4']);
      expect(await ids({ minScore: 95.6 })).toEqual([]);
      expect(await ids({ stage: 'qualified', ownerId: 'o-2' })).toEqual(['l-3']);
      expect(await ids({ tier: 'hot', minScore: 90 })).toEqual(['l-4']);
      expect(await ids({ subjectRef: 's-1', targetId: 't-2', stage: 'qualified', tier: 'hot', ownerId: 'o-1', minScore: 80 })).toEqual(['l-2']);
    });

    test('listLeads pages with a cursor: every lead once, full pages, stable order', async ({ store, tenant }) => {
      const n = 25;
      const all = Array.from({ length: n }, (_, i) => makeLead({ tenantId: tenant, id: `lead-${String(i).padStart(3, '0')}`, score: i % 2 === 0 ? 60 : 20 }));
      // Insert out of id order, over several batches.
      for (const chunk of [shuffle(all.slice(0, 9), 1), shuffle(all.slice(9), 2)]) {
        await store.commit(makeBatch(tenant, { leads: chunk.map((lead) => ({ lead, expectedVersion: null })) }));
      }
      const first = await pageAll(store, tenant, { limit: 10 });
      expect(first.pages.slice(0, -1).every((p) => p === 10), `pages before the last must be full: ${first.pages}`).toBe(true);
      expect(first.pages.length).toBeLessThanOrEqual(4);
      expect(first.ids).toHaveLength(n);
      expect(new Set(first.ids).size).toBe(n);
      expect((await pageAll(store, tenant, { limit: 10 })).ids, 'a second listing must give the same order').toEqual(first.ids);
      expect((await pageAll(store, tenant, { limit: 7 })).ids, 'the order must not depend on the page size').toEqual(first.ids);

      const filtered = await pageAll(store, tenant, { limit: 4, minScore: 50 });
      expect(filtered.ids.slice().sort()).toEqual(all.filter((l) => l.score >= 50).map((l) => l.id));
      expect(filtered.ids).toEqual(first.ids.filter((id) => (all.find((l) => l.id === id) as LeadState).score >= 50));
    });

    test('listLeads returns at most 100 leads by default', async ({ store, tenant }) => {
      const leads = Array.from({ length: 120 }, (_, i) => makeLead({ tenantId: tenant, id: `lead-${String(i).padStart(3, '0')}` }));
      await store.commit(makeBatch(tenant, { leads: leads.map((lead) => ({ lead, expectedVersion: null })) }));
      const page = await store.listLeads(tenant);
      expect(page.leads).toHaveLength(100);
      expect(page.next).toBeTypeOf('string');
      const rest = await store.listLeads(tenant, { cursor: page.next });
      expect(rest.leads).toHaveLength(20);
      expect(new Set([...page.leads, ...rest.leads].map((l) => l.id)).size).toBe(120);
    });

    // ─── timelines and identity ────────────────────────────────────────────────────────────

    test('subjectEvents is sorted by (occurredAt, id) after out-of-order inserts', async ({ store, tenant, t0 }) => {
      const ev = (id: string, dt: number, subjectId = 's-1') => makeEvent({ tenantId: tenant, id, subjectId, occurredAt: t0 + dt });
      await store.commit(makeBatch(tenant, { events: [ev('e-05', 50), ev('e-01', 10), ev('o-01', 1, 's-2')] }));
      await store.commit(makeBatch(tenant, { events: [ev('e-03', 30), ev('e-00', 10)] }));
      await store.commit(makeBatch(tenant, { events: [ev('e-06', 60), ev('e-09', 5)] }));
      await store.commit(makeBatch(tenant, { events: [ev('e-02', 30), ev('o-02', 40, 's-2')] }));
      const ids = (await store.subjectEvents(tenant, 's-1')).map((e) => e.id);
      expect(ids).toEqual(['e-09', 'e-00', 'e-01', 'e-02', 'e-03', 'e-05', 'e-06']);
      expect((await store.subjectEvents(tenant, 's-2')).map((e) => e.id)).toEqual(['o-01', 'o-02']);
      expect(await store.subjectEvents(tenant, 'nobody')).toEqual([]);

      // A longer, shuffled history in uneven batches.
      const many = Array.from({ length: 60 }, (_, i) => ev(`m-${String(i).padStart(3, '0')}`, 1000 + Math.floor(i / 3) * 7, 's-3'));
      const shuffled = shuffle(many, 7);
      for (let i = 0; i < shuffled.length; ) {
        const size = 1 + (i % 5);
        await store.commit(makeBatch(tenant, { events: shuffled.slice(i, i + size) }));
        i += size;
      }
      const timeline = await store.subjectEvents(tenant, 's-3');
      expect(timeline.map((e) => e.id)).toEqual(many.map((e) => e.id));
      expect(timeline[0]).toEqual(many[0]);
    });

    test('subjectEvents filters by target', async ({ store, tenant, t0 }) => {
      const ev = (id: string, dt: number, targetId?: string) => makeEvent({ tenantId: tenant, id, subjectId: 's-1', targetId, occurredAt: t0 + dt });
      await store.commit(makeBatch(tenant, { events: [ev('e-4', 40, 'a'), ev('e-1', 10, 'a'), ev('e-2', 20, 'b'), ev('e-3', 30)] }));
      expect((await store.subjectEvents(tenant, 's-1', 'a')).map((e) => e.id)).toEqual(['e-1', 'e-4']);
      expect((await store.subjectEvents(tenant, 's-1', 'b')).map((e) => e.id)).toEqual(['e-2']);
      expect(await store.subjectEvents(tenant, 's-1', 'c')).toEqual([]);
      expect((await store.subjectEvents(tenant, 's-1')).map((e) => e.id)).toEqual(['e-1', 'e-2', 'e-3', 'e-4']);
    });

    test('aliases link the anonymous id and move its events to the subject, in order', async ({ store, tenant, t0 }) => {
      const anon = (id: string, dt: number, anonymousId = 'anon-1') => makeEvent({ tenantId: tenant, id, anonymousId, targetId: 'x', occurredAt: t0 + dt });
      const subj = (id: string, dt: number) => makeEvent({ tenantId: tenant, id, subjectId: 'subj', targetId: 'x', occurredAt: t0 + dt });
      await store.commit(makeBatch(tenant, { events: [anon('a-1', 10), anon('a-2', 30), subj('s-1', 20), subj('s-2', 40), anon('o-1', 15, 'anon-2')] }));
      expect(await store.resolveAlias(tenant, 'anon-1')).toBeUndefined();
      // The alias, and one more anonymous event committed with it.
      await store.commit(makeBatch(tenant, { events: [anon('a-3', 35)], aliases: [{ anonymousId: 'anon-1', subjectId: 'subj' }] }));

      expect(await store.resolveAlias(tenant, 'anon-1')).toBe('subj');
      expect(await store.resolveAlias(tenant, 'anon-2')).toBeUndefined();
      const timeline = await store.subjectEvents(tenant, 'subj');
      expect(timeline.map((e) => e.id)).toEqual(['a-1', 's-1', 'a-2', 'a-3', 's-2']);
      for (const e of timeline.filter((x) => x.id.startsWith('a-'))) {
        expect(e).toMatchObject({ subjectRef: 'subj', subjectId: 'subj', anonymousId: 'anon-1', targetId: 'x' });
      }
      expect((await store.subjectEvents(tenant, 'subj', 'x')).map((e) => e.id)).toEqual(['a-1', 's-1', 'a-2', 'a-3', 's-2']);
      expect(await store.subjectEvents(tenant, 'anon:anon-1')).toEqual([]);
      expect((await store.subjectEvents(tenant, 'anon:anon-2')).map((e) => e.id)).toEqual(['o-1']);
      expect(await store.existingEventIds(tenant, ['a-1', 'a-2', 'a-3'])).toEqual(new Set(['a-1', 'a-2', 'a-3']));
    });

    test('counters are atomic increments', async ({ store, tenant, t0 }) => {
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.commit(
            makeBatch(tenant, {
              events: [makeEvent({ tenantId: tenant, id: `e-${i}`, occurredAt: t0 })],
              counters: [
                { key: 'rr', delta: 1 },
                { key: 'load:o-1', delta: -2 },
              ],
            }),
          ),
        ),
      );
      await store.commit(makeBatch(tenant, { counters: [{ key: 'rr', delta: 0.5 }] }));
      const counters = await store.getCounters(tenant, ['rr', 'load:o-1', 'never']);
      expect(counters.get('rr')).toBe(12.5);
      expect(counters.get('load:o-1')).toBe(-24);
      expect(counters.get('never') ?? 0).toBe(0);
    });

    test('profiles are replaced per subject', async ({ store, tenant, t0 }) => {
      const p1 = makeProfile({ tenantId: tenant, subjectId: 's-1', traits: { plan: 'free', city: 'Lyon' }, updatedAt: t0 });
      const p2 = makeProfile({ tenantId: tenant, subjectId: 's-2', traits: { plan: 'pro' }, updatedAt: t0 });
      await store.commit(makeBatch(tenant, { profiles: [p1, p2] }));
      const p1b = makeProfile({ tenantId: tenant, subjectId: 's-1', traits: { plan: 'pro' }, updatedAt: t0 + 1 });
      await store.commit(makeBatch(tenant, { profiles: [p1b] }));
      expect(await store.getProfile(tenant, 's-1')).toEqual(p1b);
      expect(await store.getProfile(tenant, 's-2')).toEqual(p2);
      expect(await store.getProfile(tenant, 's-3')).toBeUndefined();
    });

    test('audit entries list in append order, filtered by lead and action, limited', async ({ store, tenant, t0 }) => {
      const a = (i: number, leadId: string | undefined, action: string) => makeAudit({ tenantId: tenant, at: t0 + i, leadId, action, data: { i } });
      const first = [a(0, 'l-1', 'lead.created'), a(1, 'l-2', 'lead.created'), a(2, 'l-1', 'lead.stage_changed')];
      const second = [a(3, undefined, 'subject.identified'), a(4, 'l-1', 'lead.routed')];
      await store.commit(makeBatch(tenant, { audit: first }));
      await store.commit(makeBatch(tenant, { audit: second }));
      expect(await store.listAudit(tenant)).toEqual([...first, ...second]);
      expect((await store.listAudit(tenant, { leadId: 'l-1' })).map((e) => e.data.i)).toEqual([0, 2, 4]);
      expect((await store.listAudit(tenant, { action: 'lead.created' })).map((e) => e.data.i)).toEqual([0, 1]);
      expect((await store.listAudit(tenant, { leadId: 'l-1', action: 'lead.routed' })).map((e) => e.data.i)).toEqual([4]);
      expect((await store.listAudit(tenant, { limit: 2 })).map((e) => e.data.i)).toEqual([0, 1]);
      expect((await store.listAudit(tenant, { leadId: 'l-1', limit: 2 })).map((e) => e.data.i)).toEqual([0, 2]);
    });

    // ─── outbox ────────────────────────────────────────────────────────────────────────────

    test('new effects are pending and claimable at once, under a lease', async ({ store, tenant, t0 }) => {
      const effect = makeEffect({ tenantId: tenant, id: `${tenant}-e1`, createdAt: t0 });
      await store.commit(makeBatch(tenant, { effects: [effect] }));
      expect(await store.listEffects(tenant)).toMatchObject([{ effect, status: 'pending', attempts: 0 }]);
      const claimed = own(tenant, await store.claimEffects({ worker: 'w-1', limit: 10, now: t0, leaseMs: 30_000 }));
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({ status: 'claimed', attempts: 1, claimedBy: 'w-1', leaseUntil: t0 + 30_000 });
      expect(claimed[0]?.effect).toEqual(effect);
      expect(await store.listEffects(tenant)).toMatchObject([{ status: 'claimed', attempts: 1, claimedBy: 'w-1', leaseUntil: t0 + 30_000 }]);
    });

    test('claimEffects takes the oldest first (createdAt, then id), up to the limit', async ({ store, tenant, t0 }) => {
      const e = (suffix: string, dt: number) => makeEffect({ tenantId: tenant, id: `${tenant}-${suffix}`, createdAt: t0 + dt });
      await store.commit(makeBatch(tenant, { effects: [e('d', 30), e('b', 10), e('c', 10)] }));
      await store.commit(makeBatch(tenant, { effects: [e('a', 20), e('e', 5)] }));
      const now = t0 + 100;
      const ids = async (limit: number) => own(tenant, await store.claimEffects({ worker: 'w', limit, now, leaseMs: 60_000 })).map((x) => x.effect.id);
      expect(await ids(2)).toEqual([`${tenant}-e`, `${tenant}-b`]);
      expect(await ids(2)).toEqual([`${tenant}-c`, `${tenant}-a`]);
      expect(await ids(2)).toEqual([`${tenant}-d`]);
      expect(await ids(2)).toEqual([]);
    });

    test('a claimed entry is not claimed again until its lease expires, then another worker takes it', async ({ store, tenant, t0 }) => {
      const effect = makeEffect({ tenantId: tenant, id: `${tenant}-e1`, createdAt: t0 });
      await store.commit(makeBatch(tenant, { effects: [effect] }));
      expect(own(tenant, await store.claimEffects({ worker: 'w-a', limit: 5, now: t0, leaseMs: 1000 }))).toHaveLength(1);
      expect(own(tenant, await store.claimEffects({ worker: 'w-b', limit: 5, now: t0 + 500, leaseMs: 1000 }))).toEqual([]);
      const again = own(tenant, await store.claimEffects({ worker: 'w-b', limit: 5, now: t0 + 1001, leaseMs: 1000 }));
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ status: 'claimed', attempts: 2, claimedBy: 'w-b', leaseUntil: t0 + 2001 });
      expect(own(tenant, await store.claimEffects({ worker: 'w-a', limit: 5, now: t0 + 1500, leaseMs: 1000 }))).toEqual([]);
    });

    test('failEffect with a retry time makes the entry pending again from that time', async ({ store, tenant, t0 }) => {
      const effect = makeEffect({ tenantId: tenant, id: `${tenant}-e1`, createdAt: t0 });
      await store.commit(makeBatch(tenant, { effects: [effect] }));
      await store.claimEffects({ worker: 'w', limit: 5, now: t0, leaseMs: 60_000 });
      await store.failEffect(effect.id, 'smtp 421: try later', t0 + 5000);
      expect(await store.listEffects(tenant)).toMatchObject([{ status: 'pending', attempts: 1, lastError: 'smtp 421: try later', availableAt: t0 + 5000 }]);
      expect(own(tenant, await store.claimEffects({ worker: 'w', limit: 5, now: t0 + 4999, leaseMs: 60_000 }))).toEqual([]);
      const retried = own(tenant, await store.claimEffects({ worker: 'w2', limit: 5, now: t0 + 5000, leaseMs: 60_000 }));
      expect(retried).toHaveLength(1);
      expect(retried[0]).toMatchObject({ status: 'claimed', attempts: 2, claimedBy: 'w2' });
    });

    test('failEffect without a retry time marks the entry dead for good', async ({ store, tenant, t0 }) => {
      const effect = makeEffect({ tenantId: tenant, id: `${tenant}-e1`, createdAt: t0 });
      await store.commit(makeBatch(tenant, { effects: [effect] }));
      await store.claimEffects({ worker: 'w', limit: 5, now: t0, leaseMs: 1000 });
      await store.failEffect(effect.id, '400: invalid address', null);
      expect(await store.listEffects(tenant)).toMatchObject([{ status: 'dead', attempts: 1, lastError: '400: invalid address' }]);
      expect(await store.listEffects(tenant, { status: 'dead' })).toHaveLength(1);
      expect(own(tenant, await store.claimEffects({ worker: 'w', limit: 5, now: t0 + WINDOW_MS / 2, leaseMs: 1000 }))).toEqual([]);
    });

    test('completeEffect is idempotent and done entries are never claimed again', async ({ store, tenant, t0 }) => {
      const effect = makeEffect({ tenantId: tenant, id: `${tenant}-e1`, createdAt: t0 });
      await store.commit(makeBatch(tenant, { effects: [effect] }));
      await store.claimEffects({ worker: 'w', limit: 5, now: t0, leaseMs: 1000 });
      await store.completeEffect(effect.id);
      await store.completeEffect(effect.id);
      expect(await store.listEffects(tenant)).toMatchObject([{ status: 'done', attempts: 1 }]);
      // Past the old lease: still not claimable.
      expect(own(tenant, await store.claimEffects({ worker: 'w', limit: 5, now: t0 + WINDOW_MS / 2, leaseMs: 1000 }))).toEqual([]);
      // A late failure report cannot bring it back.
      await store.failEffect(effect.id, 'late', t0 + 10);
      expect(await store.listEffects(tenant)).toMatchObject([{ status: 'done' }]);
    });

    test('completeEffect and failEffect reject an unknown id with NOT_FOUND', async ({ store, tenant }) => {
      for (const call of [() => store.completeEffect(`${tenant}-missing`), () => store.failEffect(`${tenant}-missing`, 'x', null)]) {
        const error = await rejectionOf(call(), 'an unknown effect id');
        expect(isLeadpipeError(error, 'NOT_FOUND'), describeError(error)).toBe(true);
      }
    });

    test('concurrent claimers never get the same entry', async ({ store, tenant, t0 }) => {
      const effects = Array.from({ length: 30 }, (_, i) => makeEffect({ tenantId: tenant, id: `${tenant}-e${i}`, createdAt: t0 + (i % 4) }));
      await store.commit(makeBatch(tenant, { effects }));
      const claims = await Promise.all(
        Array.from({ length: 5 }, (_, w) => store.claimEffects({ worker: `w-${w}`, limit: 8, now: t0 + 10, leaseMs: 60_000 })),
      );
      const ids = claims.flatMap((c) => own(tenant, c).map((e) => e.effect.id));
      expect(new Set(ids).size, 'an entry was handed to two claimers').toBe(ids.length);
      expect(ids.length).toBe(30);
      for (const [w, c] of claims.entries()) for (const e of own(tenant, c)) expect(e.claimedBy).toBe(`w-${w}`);
    });

    test('listEffects filters by status and lead, oldest first', async ({ store, tenant, t0 }) => {
      const e = (suffix: string, dt: number, leadId: string) => makeEffect({ tenantId: tenant, id: `${tenant}-${suffix}`, leadId, createdAt: t0 + dt });
      await store.commit(makeBatch(tenant, { effects: [e('3', 30, 'l-1'), e('1', 10, 'l-2'), e('2', 20, 'l-1'), e('4', 40, 'l-2')] }));
      const [oldest] = own(tenant, await store.claimEffects({ worker: 'w', limit: 1, now: t0 + 100, leaseMs: 60_000 }));
      expect(oldest?.effect.id).toBe(`${tenant}-1`);
      await store.completeEffect(`${tenant}-1`);
      const ids = async (filter?: Parameters<Store['listEffects']>[1]) => (await store.listEffects(tenant, filter)).map((x) => x.effect.id.slice(tenant.length + 1));
      expect(await ids()).toEqual(['1', '2', '3', '4']);
      expect(await ids({ leadId: 'l-1' })).toEqual(['2', '3']);
      expect(await ids({ status: 'pending' })).toEqual(['2', '3', '4']);
      expect(await ids({ status: 'done' })).toEqual(['1']);
      expect(await ids({ status: 'pending', leadId: 'l-2' })).toEqual(['4']);
      expect(await ids({ status: 'claimed' })).toEqual([]);
    });

    // ─── isolation and lifecycle ───────────────────────────────────────────────────────────

    test('tenants are isolated in every method', async ({ store, tenant, t0 }) => {
      const [a, b] = [`${tenant}-a`, `${tenant}-b`];
      const route = { ownerId: 'o-1', at: t0, rule: 'r', pick: 'first' as const, eventId: 'e-1' };
      const leadA = makeLead({ tenantId: a, subjectRef: 's-1', targetId: 'x', stage: 'qualified', tier: 'hot', score: 90, routes: [route] });
      await store.commit(
        makeBatch(a, {
          events: [
            makeEvent({ tenantId: a, id: 'e-1', subjectId: 's-1', targetId: 'x', occurredAt: t0 }),
            makeEvent({ tenantId: a, id: 'e-2', anonymousId: 'anon-1', occurredAt: t0 }),
          ],
          leads: [{ lead: leadA, expectedVersion: null }],
          effects: [makeEffect({ tenantId: a, id: `${a}-eff`, leadId: leadA.id, createdAt: t0 })],
          audit: [makeAudit({ tenantId: a, at: t0, leadId: leadA.id })],
          aliases: [{ anonymousId: 'anon-9', subjectId: 's-1' }],
          profiles: [makeProfile({ tenantId: a, subjectId: 's-1', traits: { plan: 'pro' } })],
          counters: [{ key: 'rr', delta: 5 }],
        }),
      );

      expect(await store.existingEventIds(b, ['e-1', 'e-2'])).toEqual(new Set());
      expect(await store.getLead(b, leadA.id)).toBeUndefined();
      expect((await store.getLeads(b, [leadA.id])).size).toBe(0);
      expect((await store.listLeads(b)).leads).toEqual([]);
      expect((await store.listLeads(b, { ownerId: 'o-1' })).leads).toEqual([]);
      expect(await store.subjectEvents(b, 's-1')).toEqual([]);
      expect(await store.subjectEvents(b, 'anon:anon-1')).toEqual([]);
      expect(await store.resolveAlias(b, 'anon-9')).toBeUndefined();
      expect(await store.getProfile(b, 's-1')).toBeUndefined();
      expect((await store.getCounters(b, ['rr'])).get('rr') ?? 0).toBe(0);
      expect(await store.listEffects(b)).toEqual([]);
      expect(await store.listAudit(b)).toEqual([]);

      // The same event id and lead id are new in another tenant.
      const leadB = makeLead({ tenantId: b, subjectRef: 's-1', targetId: 'x', score: 1 });
      await store.commit(
        makeBatch(b, {
          events: [makeEvent({ tenantId: b, id: 'e-1', subjectId: 's-1', occurredAt: t0 + 1 })],
          leads: [{ lead: leadB, expectedVersion: null }],
          aliases: [{ anonymousId: 'anon-1', subjectId: 's-2' }],
          counters: [{ key: 'rr', delta: 1 }],
        }),
      );
      expect(await store.getLead(a, leadA.id)).toEqual(leadA);
      expect(await store.getLead(b, leadB.id)).toEqual(leadB);
      expect((await store.getCounters(a, ['rr'])).get('rr')).toBe(5);
      expect((await store.getCounters(b, ['rr'])).get('rr')).toBe(1);
      expect((await store.subjectEvents(a, 's-1')).map((e) => e.occurredAt)).toEqual([t0]);
      expect((await store.subjectEvents(a, 'anon:anon-1')).map((e) => e.id)).toEqual(['e-2']);
      expect(await store.resolveAlias(a, 'anon-1')).toBeUndefined();
      expect((await store.listLeads(a)).leads.map((l) => l.score)).toEqual([90]);
      expect(await store.listEffects(a)).toHaveLength(1);
    });

    test('after close every method rejects with STORE_CLOSED', async ({ store, tenant, t0 }) => {
      await store.commit(makeBatch(tenant, { leads: [{ lead: makeLead({ tenantId: tenant }), expectedVersion: null }] }));
      await store.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['commit', () => store.commit(makeBatch(tenant, { events: [makeEvent({ tenantId: tenant, occurredAt: t0 })] }))],
        ['existingEventIds', () => store.existingEventIds(tenant, ['e'])],
        ['getLead', () => store.getLead(tenant, 'subject-1')],
        ['getLeads', () => store.getLeads(tenant, ['subject-1'])],
        ['listLeads', () => store.listLeads(tenant)],
        ['subjectEvents', () => store.subjectEvents(tenant, 'subject-1')],
        ['resolveAlias', () => store.resolveAlias(tenant, 'a')],
        ['getProfile', () => store.getProfile(tenant, 's')],
        ['getCounters', () => store.getCounters(tenant, ['k'])],
        ['claimEffects', () => store.claimEffects({ worker: 'w', limit: 1, now: t0, leaseMs: 1 })],
        ['completeEffect', () => store.completeEffect('x')],
        ['failEffect', () => store.failEffect('x', 'e', null)],
        ['listEffects', () => store.listEffects(tenant)],
        ['listAudit', () => store.listAudit(tenant)],
      ];
      for (const [method, call] of calls) {
        const error = await rejectionOf(call(), `${method} after close`);
        expect(isLeadpipeError(error, 'STORE_CLOSED'), `${method}: ${describeError(error)}`).toBe(true);
      }
    });
  });
}

async function expectConflict(promise: Promise<unknown>, code: ErrorCode, details?: Record<string, unknown>): Promise<void> {
  const error = await rejectionOf(promise, 'the conflicting commit');
  expect(isLeadpipeError(error, code), `expected a LeadpipeError with code ${code}, got ${describeError(error)}`).toBe(true);
  if (details) expect((error as { details: unknown }).details).toMatchObject(details);
}

/** Entries of this tenant only: claims are not tenant-scoped. */
function own(tenant: string, entries: OutboxEntry[]): OutboxEntry[] {
  return entries.filter((e) => e.effect.tenantId === tenant);
}

async function pageAll(store: Store, tenant: string, filter: { limit: number; minScore?: number }): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await store.listLeads(tenant, { ...filter, cursor });
    expect(page.leads.length).toBeLessThanOrEqual(filter.limit);
    pages.push(page.leads.length);
    ids.push(...page.leads.map((l) => l.id));
    if (page.next === undefined) return { ids, pages };
    cursor = page.next;
  }
  throw new Error('listLeads kept returning `next` after 100 pages');
}

/** A deterministic shuffle (so a failure reproduces). */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let s = seed * 2654435761;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s ^ (s >>> 15), 2246822519) + 3266489917) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Probe {
  eventIds: string[];
  leadIds: string[];
  subjectRefs: string[];
  anonymousIds: string[];
  subjectIds: string[];
  counterKeys: string[];
}

/** Everything a batch could have written, as plain data to compare before and after. */
async function observe(store: Store, tenant: string, probe: Probe): Promise<unknown> {
  const counters = await store.getCounters(tenant, probe.counterKeys);
  return {
    events: [...(await store.existingEventIds(tenant, probe.eventIds))].sort(),
    leads: [...(await store.getLeads(tenant, probe.leadIds)).entries()].sort(([x], [y]) => (x < y ? -1 : 1)),
    listed: (await store.listLeads(tenant, { limit: 1000 })).leads.map((l) => `${l.id}@${l.version}`).sort(),
    timelines: await Promise.all(probe.subjectRefs.map(async (ref) => (await store.subjectEvents(tenant, ref)).map((e) => `${e.id}:${e.subjectRef}`))),
    aliases: await Promise.all(probe.anonymousIds.map((id) => store.resolveAlias(tenant, id))),
    profiles: await Promise.all(probe.subjectIds.map((id) => store.getProfile(tenant, id))),
    counters: probe.counterKeys.map((k) => counters.get(k) ?? 0),
    effects: (await store.listEffects(tenant)).map((e) => `${e.effect.id}:${e.status}`),
    audit: await store.listAudit(tenant),
  };
}

/**
 * Existing state (a lead, an event, an effect, a counter, an anonymous timeline, a lead to delete)
 * and a batch touching every part of the store, to which each atomicity test adds one bad item.
 */
async function atomicityFixture(store: Store, tenant: string, t0: number) {
  const existing = makeLead({ tenantId: tenant, subjectRef: 's-1', version: 3, score: 12 });
  const doomed = makeLead({ tenantId: tenant, subjectRef: 'anon:anon-1' });
  const existingEventId = 'e-existing';
  const existingEffectId = `${tenant}-eff-existing`;
  await store.commit(
    makeBatch(tenant, {
      events: [
        makeEvent({ tenantId: tenant, id: existingEventId, subjectId: 's-1', occurredAt: t0 }),
        makeEvent({ tenantId: tenant, id: 'e-anon', anonymousId: 'anon-1', occurredAt: t0 + 1 }),
      ],
      leads: [
        { lead: existing, expectedVersion: null },
        { lead: doomed, expectedVersion: null },
      ],
      effects: [makeEffect({ tenantId: tenant, id: existingEffectId, leadId: existing.id, createdAt: t0 })],
      counters: [{ key: 'c-1', delta: 1 }],
      audit: [makeAudit({ tenantId: tenant, at: t0, action: 'lead.created' })],
    }),
  );
  const badBatch = (): CommitBatch =>
    makeBatch(tenant, {
      events: [
        makeEvent({ tenantId: tenant, id: 'e-new-1', subjectId: 's-1', occurredAt: t0 + 2 }),
        makeEvent({ tenantId: tenant, id: 'e-new-2', anonymousId: 'anon-1', occurredAt: t0 + 3 }),
      ],
      leads: [{ lead: makeLead({ tenantId: tenant, subjectRef: 's-2', score: 50 }), expectedVersion: null }],
      deleteLeads: [{ id: doomed.id, expectedVersion: 1 }],
      effects: [makeEffect({ tenantId: tenant, id: `${tenant}-eff-new`, leadId: 's-2', createdAt: t0 + 2 })],
      audit: [makeAudit({ tenantId: tenant, at: t0 + 2, action: 'subject.identified' })],
      aliases: [{ anonymousId: 'anon-1', subjectId: 's-1' }],
      profiles: [makeProfile({ tenantId: tenant, subjectId: 's-1', traits: { plan: 'pro' } })],
      counters: [
        { key: 'c-1', delta: 1 },
        { key: 'c-2', delta: 1 },
      ],
    });
  const probe: Probe = {
    eventIds: [existingEventId, 'e-anon', 'e-new-1', 'e-new-2'],
    leadIds: [existing.id, doomed.id, 's-2'],
    subjectRefs: ['s-1', 'anon:anon-1'],
    anonymousIds: ['anon-1'],
    subjectIds: ['s-1'],
    counterKeys: ['c-1', 'c-2'],
  };
  return { existing, existingEventId, existingEffectId, badBatch, probe };
}
