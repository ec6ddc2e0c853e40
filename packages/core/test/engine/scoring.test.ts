import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, type ConfigInput, type EventInput } from '../../src/index.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
// Monday 2026-06-01 00:00 in America/Chicago is 05:00 UTC.
const MON_MIDNIGHT_CHICAGO = Date.parse('2026-06-01T05:00:00Z');

async function scoreAfter(config: ConfigInput, events: Array<Partial<EventInput> & { type: string; occurredAt: number }>) {
  const engine = createEngine({ config });
  let i = 0;
  for (const e of events) await engine.track({ id: `e${i++}`, subjectId: 'u1', ...e });
  return (await engine.getLead({ subjectId: 'u1' }))!;
}

describe('scoring', () => {
  it('decays by half-life, referenced to the last event', async () => {
    const lead = await scoreAfter({ signals: { view: { points: 40, halfLife: '1d' }, ping: { points: 0 } } }, [
      { type: 'view', occurredAt: 0 },
      { type: 'ping', occurredAt: 2 * DAY },
    ]);
    expect(lead.score).toBe(10);
  });

  it('drops points after their window', async () => {
    const lead = await scoreAfter({ signals: { add: { points: 30, window: '3d' }, ping: { points: 1 } } }, [
      { type: 'add', occurredAt: 0 },
      { type: 'add', occurredAt: 2 * DAY },
      { type: 'ping', occurredAt: 4 * DAY },
    ]);
    expect(lead.breakdown.sources).toEqual({ add: 30, ping: 1 });
  });

  it('keeps a signal\'s window and calendar bucket through the decay between its events', async () => {
    // Both adds are inside the window at the ping: the second add's decay must keep the first's entry.
    const windowed = await scoreAfter({ signals: { add: { points: 30, window: '3d', halfLife: '1000d' }, ping: { points: 0 } } }, [
      { type: 'add', occurredAt: 0 },
      { type: 'add', occurredAt: DAY },
      { type: 'ping', occurredAt: 2 * DAY },
    ]);
    expect(windowed.scoring.signals.add?.window).toHaveLength(2);
    expect(windowed.score).toBeCloseTo(60, 0); // 30 + 30, decayed by a day or two of a 1000-day half-life
    // The third view of the day is over the cap: the decay before it must keep the day's count.
    const capped = await scoreAfter({ signals: { view: { points: 8, halfLife: '1000d', cap: { max: 2, per: 'day' } } } }, [
      { type: 'view', occurredAt: 10 * HOUR },
      { type: 'view', occurredAt: 11 * HOUR },
      { type: 'view', occurredAt: 12 * HOUR },
    ]);
    expect(capped.scoring.signals.view).toMatchObject({ inBucket: 3 });
    expect(capped.score).toBe(16);
    // The decayed copy (here of `add`, decayed by the ping) keeps the order in which a step adds the fields.
    const both = await scoreAfter({ signals: { add: { points: 5, window: '3d', halfLife: '1000d', cap: { max: 5, per: 'day' } }, ping: { points: 0 } } }, [
      { type: 'add', occurredAt: 10 * HOUR },
      { type: 'ping', occurredAt: 11 * HOUR },
    ]);
    expect(Object.keys(both.scoring.signals.add ?? {})).toEqual(['value', 'window', 'bucket', 'inBucket']);
  });

  it('caps and diminishes per calendar day in the configured time zone', async () => {
    const config: ConfigInput = { timeZone: 'America/Chicago', signals: { view: { points: 8, cap: { max: 3, per: 'day' }, diminishing: 0.5 } } };
    // Four views late Monday (Chicago), then one just after Chicago midnight (still Monday in UTC? no: Tuesday 05:00 UTC).
    const lead = await scoreAfter(config, [
      { type: 'view', occurredAt: MON_MIDNIGHT_CHICAGO + 20 * HOUR },
      { type: 'view', occurredAt: MON_MIDNIGHT_CHICAGO + 21 * HOUR },
      { type: 'view', occurredAt: MON_MIDNIGHT_CHICAGO + 22 * HOUR },
      { type: 'view', occurredAt: MON_MIDNIGHT_CHICAGO + 23 * HOUR }, // 4th in the day: capped
      { type: 'view', occurredAt: MON_MIDNIGHT_CHICAGO + 24 * HOUR + 60_000 }, // new local day: full points
    ]);
    // 8 + 4 + 2 (+0) then 8 again.
    expect(lead.score).toBe(22);
    expect(lead.counts.view).toBe(5);
  });

  it('applies time-of-day, weekday, business-hours and property modifiers in local time', async () => {
    const config: ConfigInput = {
      timeZone: 'America/Chicago',
      signals: { call: { points: 10 } },
      scoring: {
        businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '17:00' },
        modifiers: [
          { name: 'after-hours', businessHours: false, multiply: 2 },
          { name: 'weekend', weekdays: ['sat', 'sun'], add: 5 },
          { name: 'late', hours: [22, 6], add: 1 },
          { name: 'urgent', conditions: { all: [{ fact: 'event', path: '$.properties.urgent', operator: 'equal', value: true }] }, multiply: 1.5 },
        ],
      },
    };
    const at = async (t: number, properties: Record<string, unknown> = {}) => (await scoreAfter(config, [{ type: 'call', occurredAt: t, properties }])).score;
    expect(await at(MON_MIDNIGHT_CHICAGO + 10 * HOUR)).toBe(10); // Monday 10:00: business hours
    expect(await at(MON_MIDNIGHT_CHICAGO + 19 * HOUR)).toBe(20); // Monday 19:00: after hours
    expect(await at(MON_MIDNIGHT_CHICAGO + 23 * HOUR)).toBe(22); // Monday 23:00: after hours and late
    expect(await at(MON_MIDNIGHT_CHICAGO + 5 * DAY + 10 * HOUR)).toBe(30); // Saturday 10:00: (10 + 5) × 2
    expect(await at(MON_MIDNIGHT_CHICAGO + 10 * HOUR, { urgent: true })).toBe(15);
  });

  it('combines weighted components and normalises them as documented', async () => {
    const lead = await scoreAfter(
      {
        signals: { view: { points: 20 }, demo: { points: 30, component: 'intent' } },
        scoring: {
          components: { engagement: { weight: 1, normalize: { type: 'saturating', scale: 20 } }, intent: { weight: 3 } },
          normalize: { type: 'linear', max: 60 },
        },
      },
      [
        { type: 'view', occurredAt: 0 },
        { type: 'demo', occurredAt: 1 },
      ],
    );
    const engagement = 100 * (1 - Math.exp(-1));
    const intent = 50;
    expect(lead.components).toEqual({ engagement: Math.round(engagement * 100) / 100, intent: 50 });
    expect(lead.score).toBe(Math.round(((engagement + 3 * intent) / 4) * 100) / 100);
  });

  it('breakdowns add up exactly (in hundredths) to the score, by source and by component', async () => {
    const config: ConfigInput = {
      signals: {
        a: { points: 7.3, halfLife: '13h' },
        b: { points: 11.1, component: 'intent', cap: { max: 2, per: 'hour' }, diminishing: 0.7 },
        c: { points: -4.2, component: 'intent' },
        d: { points: 3.3, window: '2d', component: 'other' },
      },
      scoring: {
        components: { engagement: { weight: 1.7 }, intent: { weight: 2.9, normalize: { type: 'saturating', scale: 17 } }, other: { weight: 0.4 } },
        normalize: { type: 'linear', max: 37 },
      },
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ type: fc.constantFrom('a', 'b', 'c', 'd'), minutes: fc.nat({ max: 5000 }) }), { minLength: 1, maxLength: 30 }), async (raw) => {
        const lead = await scoreAfter(config, raw.map((r) => ({ type: r.type, occurredAt: r.minutes * 60_000 })));
        const cents = (xs: number[]) => xs.reduce((s, x) => s + Math.round(x * 100), 0);
        expect(cents(Object.values(lead.breakdown.sources))).toBe(Math.round(lead.score * 100));
        expect(cents(Object.values(lead.breakdown.components))).toBe(Math.round(lead.score * 100));
        expect(lead.score).toBeGreaterThanOrEqual(0);
        expect(lead.score).toBeLessThanOrEqual(100);
      }),
      { numRuns: 200 },
    );
  });
});
