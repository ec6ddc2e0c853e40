import { describe, expect, it } from 'vitest';
import { createEngine, DeliveryError, ManualClock, type ConfigInput, type DeliveryEffect, type Effect, type EventInput, type LeadSnapshot } from '../../src/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MON_9 = Date.parse('2026-06-01T09:00:00Z');

const score = (value: number) => ({ all: [{ fact: 'score', operator: 'greaterThanInclusive', value }] });

function makeEngine(config: ConfigInput) {
  const engine = createEngine({ config, clock: new ManualClock(MON_9) });
  let n = 0;
  const track = (e: Partial<EventInput> & { occurredAt: number }) => engine.track({ id: `e${n++}`, type: 'view', subjectId: 'u1', ...e });
  return { engine, track };
}

describe('qualification', () => {
  const config: ConfigInput = {
    signals: { view: { points: 20 }, unsubscribe: { points: -100 } },
    qualification: {
      rules: [
        { name: 'engaged', conditions: score(20), stage: 'engaged' },
        { name: 'qualified', conditions: score(60), stage: 'qualified' },
        { name: 'back-to-new', priority: 5, conditions: { all: [{ fact: 'counts', path: '$.unsubscribe', operator: 'greaterThan', value: 0 }] }, stage: 'new' },
        { name: 'vip', conditions: { all: [{ fact: 'profile', path: '$.plan', operator: 'equal', value: 'enterprise' }] }, tier: 'hot' },
      ],
      tiers: [
        { name: 'hot', minScore: 80 },
        { name: 'warm', minScore: 40 },
        { name: 'cold', minScore: 0 },
      ],
    },
  };

  it('moves forward, records each transition with its rule, and sets the tier from the score band', async () => {
    const { engine, track } = makeEngine(config);
    await track({ occurredAt: MON_9 });
    await track({ occurredAt: MON_9 + 1 });
    const lead = (await track({ occurredAt: MON_9 + 2 })).leads[0]!;
    expect(lead.stage).toBe('qualified');
    expect(lead.tier).toBe('warm');
    expect(lead.stageHistory.map((t) => [t.from, t.to, t.cause])).toEqual([
      [null, 'new', 'created'],
      ['new', 'engaged', 'engaged'],
      ['engaged', 'qualified', 'qualified'],
    ]);
    const audit = await engine.store.listAudit('default', { leadId: 'u1' });
    expect(audit.map((a) => a.data.to)).toEqual(['new', 'engaged', 'qualified']);
  });

  it('does not demote by default, and does when demotion is on', async () => {
    for (const demotion of [false, true]) {
      const { track } = makeEngine({ ...config, qualification: { ...config.qualification, demotion } });
      await track({ occurredAt: MON_9 });
      const lead = (await track({ type: 'unsubscribe', occurredAt: MON_9 + 1 })).leads[0]!;
      expect(lead.stage).toBe(demotion ? 'new' : 'engaged');
    }
  });

  it('lets a rule set the tier over the score band', async () => {
    const { engine, track } = makeEngine(config);
    await engine.identify({ subjectId: 'u1', traits: { plan: 'enterprise' } });
    const lead = (await track({ occurredAt: MON_9 })).leads[0]!;
    expect(lead.tier).toBe('hot');
  });
});

describe('routing', () => {
  const owners: NonNullable<ConfigInput['routing']>['owners'] = [
    { id: 'op-1', targets: ['tour-a', 'tour-b'] },
    { id: 'op-2', targets: ['tour-b'] },
    { id: 'north-1', attributes: { region: 'north' } },
    { id: 'north-2', attributes: { region: 'north' } },
    { id: 'south-1', attributes: { region: 'south' }, capacity: 1 },
    { id: 'south-2', attributes: { region: 'south' }, availability: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }] },
    { id: 'inbox' },
  ];

  it('fans out to every owner of the target, above the minimum score, once per dedupe window', async () => {
    const { engine, track } = makeEngine({
      leadKey: ['subjectId', 'targetId'],
      signals: { view: { points: 30 } },
      routing: { minScore: 50, dedupeWindow: '2d', owners, rules: [{ name: 'operators', to: { owners: 'target' } }] },
    });
    const first = await track({ targetId: 'tour-b', occurredAt: MON_9 });
    expect(first.routing?.status).toBe('below-threshold');
    const second = await track({ targetId: 'tour-b', occurredAt: MON_9 + HOUR });
    expect(second.routing?.status).toBe('routed');
    expect(second.effects.map((e) => e.ownerId).sort()).toEqual(['op-1', 'op-2']);
    expect(second.leads[0]?.stage).toBe('routed');
    const third = await track({ targetId: 'tour-b', occurredAt: MON_9 + DAY });
    expect(third.routing?.status).toBe('deduped');
    expect(third.effects).toEqual([]);
    const fourth = await track({ targetId: 'tour-b', occurredAt: MON_9 + 3 * DAY });
    expect(fourth.routing?.status).toBe('routed');
    const deliveries = await engine.store.listEffects('default');
    expect(deliveries).toHaveLength(4);
  });

  it('routes by rule-matched owners with round-robin, sticky per lead', async () => {
    const { engine } = makeEngine({
      signals: { view: { points: 60 } },
      routing: {
        minScore: 50,
        owners,
        rules: [{ name: 'north', conditions: { all: [{ fact: 'profile', path: '$.region', operator: 'equal', value: 'north' }] }, to: { where: { all: [{ fact: 'owner', path: '$.region', operator: 'equal', value: 'north' }] }, pick: 'round-robin' } }],
      },
    });
    const picks: string[] = [];
    for (const subject of ['a', 'b', 'c']) {
      await engine.identify({ subjectId: subject, traits: { region: 'north' } });
      const r = await engine.track({ id: `${subject}-1`, type: 'view', subjectId: subject, occurredAt: MON_9 });
      picks.push(r.leads[0]!.routes[0]!.ownerId);
    }
    expect(picks).toEqual(['north-1', 'north-2', 'north-1']);
    const again = await engine.track({ id: 'a-2', type: 'view', subjectId: 'a', occurredAt: MON_9 + 8 * DAY });
    expect(again.leads[0]!.routes.map((r) => r.ownerId)).toEqual(['north-1', 'north-1']);
  });

  it('skips owners at capacity or outside their hours, falls back, and reports "no route" as a result', async () => {
    const config: ConfigInput = {
      signals: { view: { points: 60 } },
      routing: {
        minScore: 50,
        owners,
        rules: [{ name: 'south', to: { owners: ['south-1', 'south-2'], pick: 'least-loaded' } }],
        fallback: { owners: ['inbox'] },
      },
    };
    const { engine } = makeEngine(config);
    const at = (subject: string, t: number) => engine.track({ id: `${subject}-${t}`, type: 'view', subjectId: subject, occurredAt: t });
    expect((await at('a', MON_9 + HOUR)).leads[0]!.routes[0]!.ownerId).toBe('south-1');
    expect((await at('b', MON_9 + HOUR)).leads[0]!.routes[0]!.ownerId).toBe('south-2'); // south-1 is full
    const night = await at('c', MON_9 + 12 * HOUR); // 21:00: south-2 is off, south-1 full
    expect(night.leads[0]!.routes[0]).toMatchObject({ ownerId: 'inbox', rule: 'fallback' });
    expect(night.routing?.skipped).toEqual(expect.arrayContaining([
      { ownerId: 'south-1', reason: 'at-capacity', rule: 'south' },
      { ownerId: 'south-2', reason: 'unavailable', rule: 'south' },
    ]));
    // Closing a lead frees its owner's capacity.
    await engine.setStage({ subjectId: 'a' }, 'converted');
    expect((await at('d', MON_9 + 2 * HOUR)).leads[0]!.routes[0]!.ownerId).toBe('south-1');

    const { engine: noFallback } = makeEngine({ ...config, routing: { ...config.routing!, fallback: undefined, owners: owners!.map((o) => ({ ...o, active: false })) } });
    const none = await noFallback.track({ id: 'z', type: 'view', subjectId: 'z', occurredAt: MON_9 });
    expect(none.status).toBe('processed');
    expect(none.routing?.status).toBe('no-route');
  });

  it("moves a routed lead to routing.stage with the deciding rule as the cause, and tries rules in order only until one routes", async () => {
    // A custom operator that counts its calls: rule conditions are pure, so a later rule is not
    // evaluated once an earlier one found an available owner.
    const calls: string[] = [];
    const north = { name: 'north', conditions: { all: [{ fact: 'subjectId', operator: 'probe', value: 'north' }] }, to: { owners: ['north-1'] } };
    const config: ConfigInput = {
      signals: { view: { points: 60 } },
      routing: {
        minScore: 50,
        owners,
        rules: [north, { name: 'south', conditions: { all: [{ fact: 'subjectId', operator: 'probe', value: 'south' }] }, to: { owners: ['south-1'] } }],
        fallback: { owners: ['inbox'] },
      },
    };
    const probe = (subjectId: unknown, rule: unknown) => {
      calls.push(String(rule));
      return String(subjectId).startsWith(String(rule));
    };
    const engine = createEngine({ config, clock: new ManualClock(MON_9), operators: { probe } });
    const at = async (subjectId: string) => {
      calls.length = 0;
      const lead = (await engine.track({ id: subjectId, type: 'view', subjectId, occurredAt: MON_9 })).leads[0]!;
      return { routes: lead.routes.map((r) => [r.ownerId, r.rule]), last: lead.stageHistory.at(-1), calls: [...calls] };
    };
    expect(await at('north-x')).toMatchObject({ routes: [['north-1', 'north']], last: { to: 'routed', cause: 'routing:north' }, calls: ['north'] });
    expect(await at('south-x')).toMatchObject({ routes: [['south-1', 'south']], last: { to: 'routed', cause: 'routing:south' }, calls: ['north', 'south'] });
    expect(await at('west-x')).toMatchObject({ routes: [['inbox', 'fallback']], last: { to: 'routed', cause: 'routing:fallback' }, calls: ['north', 'south'] });

    // So a custom operator that throws, in a rule after the deciding one, does not fail the event.
    const boom = () => {
      throw new Error('boom');
    };
    const later = { name: 'later', conditions: { all: [{ fact: 'subjectId', operator: 'boom', value: 1 }] }, to: { owners: ['inbox'] } };
    const strict = createEngine({ config: { ...config, routing: { ...config.routing!, rules: [north, later] } }, clock: new ManualClock(MON_9), operators: { probe, boom } });
    await expect(strict.track({ id: 'n', type: 'view', subjectId: 'north-y', occurredAt: MON_9 })).resolves.toMatchObject({ routing: { rule: 'north' } });
    await expect(strict.track({ id: 's', type: 'view', subjectId: 'south-y', occurredAt: MON_9 })).rejects.toThrow('boom');
  });

  it("keeps each engine's counter changes its own, in its own store, when the config's routing reads no counter", async () => {
    // No capacity, least-loaded or round-robin: the engines read no counter (one shared empty Map)
    // but still count each owner's open leads. A step must copy before it writes.
    const config: ConfigInput = { signals: { view: { points: 60 } }, routing: { minScore: 50, owners, rules: [{ name: 'ops', to: { owners: 'target' } }] } };
    const loads = [];
    for (const subjectId of ['u1', 'u2']) {
      const { engine } = makeEngine(config);
      await engine.track({ id: subjectId, type: 'view', subjectId, targetId: 'tour-b', occurredAt: MON_9 });
      loads.push(Object.fromEntries(await engine.store.getCounters('default', ['load:op-1', 'load:op-2'])));
    }
    expect(loads).toEqual([
      { 'load:op-1': 1, 'load:op-2': 1 },
      { 'load:op-1': 1, 'load:op-2': 1 },
    ]);
  });

  it('least-loaded balances on the loads stored by earlier calls, owners without a capacity included', async () => {
    const { engine } = makeEngine({
      signals: { view: { points: 60 } },
      routing: { minScore: 50, owners: [{ id: 'n-1' }, { id: 'n-2' }, { id: 'n-3' }], rules: [{ name: 'spread', to: { owners: ['n-1', 'n-2', 'n-3'], pick: 'least-loaded' } }] },
    });
    const picks: string[] = [];
    // One call per lead: each decision must see the loads the previous calls committed.
    for (const subject of ['a', 'b', 'c', 'd']) picks.push((await engine.track({ id: subject, type: 'view', subjectId: subject, occurredAt: MON_9 })).leads[0]!.routes[0]!.ownerId);
    expect(picks).toEqual(['n-1', 'n-2', 'n-3', 'n-1']);
  });

  it('does not re-deliver inside the dedupe window when a late event moves the routing decision', async () => {
    const engine = createEngine({
      clock: new ManualClock(0),
      config: { signals: { view: { points: 60 } }, routing: { minScore: 50, dedupeWindow: '7d', owners: [{ id: 'op' }], rules: [{ name: 'r', to: { owners: ['op'] } }] } },
    });
    const routed: string[] = [];
    engine.on('lead.routed', (e) => routed.push(e.route.eventId));
    await engine.track({ id: 'e2', type: 'view', subjectId: 'u1', occurredAt: 7_200_000 });
    const late = await engine.track({ id: 'e1', type: 'view', subjectId: 'u1', occurredAt: 3_600_000 });
    expect(late.replayed).toBe(true);
    // The decision moved to e1 (what an in-order replay gives)…
    expect(late.leads[0]!.routes.map((r) => r.eventId)).toEqual(['e1']);
    // …but the owner already has the lead: one delivery, recorded as made.
    expect((await engine.store.listEffects('default')).map((e) => e.effect.id)).toEqual(['dlv:default:u1:op:e2']);
    expect(late.leads[0]!.delivered).toEqual([{ ownerId: 'op', at: 7_200_000 }]);
    expect(routed).toEqual(['e2']);
  });

  describe('deliveries with a zero dedupe window (every event routes: only the routes already made keep a replay from delivering again)', () => {
    const config: ConfigInput = {
      signals: { view: { points: 60 }, inquiry: { points: 60 } },
      routing: {
        minScore: 50,
        dedupeWindow: '0s',
        owners: [{ id: 'crm-desk' }, { id: 'sales' }],
        rules: [
          { name: 'inquiries', priority: 2, conditions: { all: [{ fact: 'event', path: '$.type', operator: 'equal', value: 'inquiry' }] }, to: { owners: ['crm-desk'], sink: 'crm' } },
          { name: 'rest', to: { owners: ['sales'] } },
        ],
      },
    };
    const sinks = (effects: Effect[]) => effects.map((e) => [e.id, (e as DeliveryEffect).sink]);

    it("name the routing rule's sink, in order and in a replay, and a replay delivers only its new route", async () => {
      const engine = createEngine({ clock: new ManualClock(0), config });
      const track = (id: string, type: string, hour: number) => engine.track({ id, type, subjectId: 'u1', occurredAt: hour * HOUR });
      expect(sinks((await track('e2', 'view', 2)).effects)).toEqual([['dlv:default:u1:sales:e2', 'default']]);
      expect(sinks((await track('e3', 'inquiry', 3)).effects)).toEqual([['dlv:default:u1:crm-desk:e3', 'crm']]);
      // A late inquiry: the replay rebuilds all three routes and delivers only its own, with its rule's sink.
      const late = await track('e1', 'inquiry', 1);
      expect(late.replayed).toBe(true);
      expect(late.leads[0]!.routes.map((r) => `${r.ownerId}:${r.eventId}`)).toEqual(['crm-desk:e1', 'sales:e2', 'crm-desk:e3']);
      expect(sinks(late.effects)).toEqual([['dlv:default:u1:crm-desk:e1', 'crm']]);
      expect(late.leads[0]!.delivered.map((d) => `${d.ownerId}@${d.at / HOUR}`)).toEqual(['sales@2', 'crm-desk@3', 'crm-desk@1']);
    });

    it('are not made again when identify merges an anonymous lead into a known one (the merged routes are not a prefix of either)', async () => {
      const engine = createEngine({ clock: new ManualClock(0), config });
      await engine.track({ id: 'k1', type: 'view', subjectId: 'u1', occurredAt: 1 * HOUR });
      await engine.track({ id: 'a1', type: 'inquiry', anonymousId: 'anon-1', occurredAt: 2 * HOUR });
      await engine.track({ id: 'k2', type: 'view', subjectId: 'u1', occurredAt: 3 * HOUR });
      const merged = await engine.identify({ subjectId: 'u1', anonymousId: 'anon-1' });
      expect(merged.leads[0]!.routes.map((r) => `${r.ownerId}:${r.eventId}`)).toEqual(['sales:k1', 'crm-desk:a1', 'sales:k2']);
      expect(merged.effects).toEqual([]);
      expect((await engine.store.listEffects('default')).map((e) => e.effect.id).sort()).toEqual(['dlv:default:anon:anon-1:crm-desk:a1', 'dlv:default:u1:sales:k1', 'dlv:default:u1:sales:k2']);
    });
  });

  it('delivers effects at least once through the outbox, retrying failures with the same idempotency key', async () => {
    const clock = new ManualClock(MON_9);
    const calls: Array<{ key: string; lead: LeadSnapshot }> = [];
    let failNext = 1;
    const engine = createEngine({
      config: { signals: { view: { points: 60 } }, routing: { owners, rules: [{ name: 'inbox', to: { owners: ['inbox'] } }] } },
      clock,
      sinks: {
        default: {
          async upsert(lead, { idempotencyKey }) {
            calls.push({ key: idempotencyKey, lead });
            if (failNext-- > 0) throw new DeliveryError('CRM timed out', { retryable: true });
          },
        },
      },
    });
    await engine.track({ id: 'e1', type: 'view', subjectId: 'u1', occurredAt: MON_9 });
    expect(await engine.dispatch()).toMatchObject({ claimed: 1, done: 0, failed: 1 });
    expect(await engine.dispatch()).toMatchObject({ claimed: 0 }); // not before its retry time
    clock.advance(5_000);
    expect(await engine.dispatch()).toMatchObject({ claimed: 1, done: 1 });
    expect(calls.map((c) => c.key)).toEqual(['dlv:default:u1:inbox:e1', 'dlv:default:u1:inbox:e1']);
    expect((await engine.store.listEffects('default'))[0]?.status).toBe('done');
  });
});

describe('explain and simulate', () => {
  const config: ConfigInput = {
    signals: { view: { points: 30, halfLife: '1d' } },
    qualification: { rules: [{ name: 'hot', conditions: { all: [{ fact: 'score', operator: 'greaterThanInclusive', value: 50 }, { fact: 'counts', path: '$.view', operator: 'greaterThanInclusive', value: 2 }] }, stage: 'qualified' }] },
    routing: { minScore: 50, owners: [{ id: 'inbox' }], rules: [{ name: 'inbox', to: { owners: ['inbox'] } }] },
  };

  it('explains the breakdown, each condition with its fact value, and the routing decision', async () => {
    const { engine, track } = makeEngine(config);
    await track({ occurredAt: MON_9 });
    await track({ occurredAt: MON_9 + 1000 });
    const x = await engine.explain({ subjectId: 'u1' });
    expect(x.score.value).toBeCloseTo(60, 1);
    expect(x.rules[0]).toMatchObject({ name: 'hot', result: true });
    const leaves = (x.rules[0]!.conditions as { all: Array<{ fact: string; factResult: unknown; result: boolean }> }).all;
    expect(leaves.map((c) => [c.fact, c.result])).toEqual([['score', true], ['counts', true]]);
    expect(leaves[1]!.factResult).toBe(2);
    expect(x.routing.routes.map((r) => r.ownerId)).toEqual(['inbox']);
    expect(x.routing.decision.status).toBe('deduped');
    // A day later the score has halved.
    const later = await engine.explain({ subjectId: 'u1' }, { at: MON_9 + 1000 + DAY });
    expect(later.score.value).toBeCloseTo(30, 1);
    expect(later.rules[0]!.result).toBe(false);
  });

  it('simulates with no side effects', async () => {
    const { engine, track } = makeEngine(config);
    await track({ occurredAt: MON_9 });
    const fired: string[] = [];
    engine.on('lead.routed', () => fired.push('routed'));
    const sim = await engine.simulate([{ id: 's1', type: 'view', subjectId: 'u1', occurredAt: MON_9 + 1000 }]);
    expect(sim.results[0]?.routing?.status).toBe('routed');
    expect(sim.effects).toHaveLength(1);
    expect(sim.events.some((e) => e.type === 'lead.routed')).toBe(true);
    expect(fired).toEqual([]);
    expect((await engine.getLead({ subjectId: 'u1' }))?.counts.view).toBe(1);
    expect(await engine.store.listEffects('default')).toEqual([]);
    expect(await engine.store.existingEventIds('default', ['s1'])).toEqual(new Set());
  });
});
