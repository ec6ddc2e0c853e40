import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@leadpipe/core';
import { main, type TourSummary } from '../src/tour-marketplace/main.js';

const configUrl = new URL('../src/tour-marketplace/config.json', import.meta.url);

describe('tour marketplace config', () => {
  it('passes parseConfig and points its $schema at the shipped JSON Schema', () => {
    const raw = JSON.parse(readFileSync(configUrl, 'utf8')) as { $schema: string };
    expect(() => parseConfig(raw)).not.toThrow();
    expect(raw.$schema).toBe('../../../core/schema/leadpipe.schema.json');
    expect(existsSync(fileURLToPath(new URL(raw.$schema, configUrl)))).toBe(true);
  });

  it('has a tour run by two operators and about six operators', () => {
    const config = parseConfig(JSON.parse(readFileSync(configUrl, 'utf8')));
    const owners = config.routing?.owners ?? [];
    expect(owners.filter((o) => o.targets.includes('tour-douro-cruise')).map((o) => o.id)).toEqual(['op-douro-cellars', 'op-river-boats']);
    expect(owners.filter((o) => o.targets.length > 0).length).toBeGreaterThanOrEqual(6);
  });
});

describe('tour marketplace example', () => {
  let summary: TourSummary;
  beforeAll(async () => {
    summary = await main({ quiet: true });
  });
  const step = (id: string, n = 0) => summary.steps.filter((s) => s.eventId === id)[n];
  const ana = 'traveler-ana|tour-douro-cruise';

  it('keeps views and a bookmark under the routing threshold', () => {
    const ben = summary.leads['traveler-ben|tour-sintra-day'];
    expect(ben?.score).toBeLessThan(50);
    expect(ben).toMatchObject({ tier: 'warm', stage: 'engaged', routes: [] });
    expect(step('evt-2003')?.routing).toBe('below-threshold');
    expect(step('evt-1003')).toMatchObject({ routing: 'below-threshold', routedTo: [] });
  });

  it('fans a lead for a tour with two operators out to both of them', () => {
    expect(step('evt-1004')).toMatchObject({ routing: 'routed', routedTo: ['op-douro-cellars', 'op-river-boats'], tier: 'hot', stage: 'routed' });
    const first = summary.deliveries.filter((d) => d.leadId === ana).slice(0, 2);
    expect(first.map((d) => d.ownerId)).toEqual(['op-douro-cellars', 'op-river-boats']);
    expect(first.every((d) => d.sink === 'operator-inbox' && d.score === step('evt-1004')?.score)).toBe(true);
  });

  it('does not deliver the same lead to the same operator twice inside the dedupe window', () => {
    expect(step('evt-1005')).toMatchObject({ routing: 'deduped', routedTo: [], deduped: ['op-douro-cellars', 'op-river-boats'] });
    expect(step('evt-1007')).toMatchObject({ routing: 'deduped', routedTo: [] });
  });

  it('routes the lead again once the window has passed', () => {
    expect(step('evt-1006')).toMatchObject({ routing: 'routed', routedTo: ['op-douro-cellars', 'op-river-boats'] });
    const routes = summary.leads[ana]?.routes ?? [];
    expect(routes).toHaveLength(4);
    expect((routes[2]?.at ?? 0) - (routes[0]?.at ?? 0)).toBeGreaterThanOrEqual(7 * 86_400_000);
  });

  it('counts an event sent twice once', () => {
    expect(step('evt-1005', 1)?.status).toBe('duplicate');
    expect(summary.leads[ana]?.counts.inquiry).toBe(1);
  });

  it('keeps the anonymous history of a traveler who signs in', () => {
    const chloe = summary.leads['traveler-chloe|tour-lisbon-food'];
    expect(chloe?.counts).toEqual({ tour_view: 3, tour_bookmark: 1, itinerary_add: 1 });
    expect(chloe?.routes.map((r) => r.ownerId)).toEqual(['op-alfama-walks']);
    expect(Object.keys(summary.leads).some((id) => id.startsWith('anon:'))).toBe(false);
  });

  it('sends a tour whose only operator is paused to the fallback desk', () => {
    expect(step('evt-4003')?.routedTo).toEqual(['marketplace-desk']);
    expect(summary.deliveries.filter((d) => d.sink === 'concierge')).toEqual([
      expect.objectContaining({ ownerId: 'marketplace-desk', leadId: 'traveler-dev|tour-evora-history', tier: 'hot' }),
    ]);
    expect(summary.deliveries.some((d) => d.ownerId === 'op-heritage-guides')).toBe(false);
  });

  it('delivers exactly what the outbox holds', () => {
    expect(summary.outbox).toHaveLength(6);
    expect(summary.deliveries).toHaveLength(6);
    expect(summary.deliveries.filter((d) => d.sink === 'operator-inbox')).toHaveLength(5);
  });

  it('splits every score exactly into points by signal', () => {
    for (const lead of Object.values(summary.leads)) {
      const sum = Object.values(lead.sources).reduce((a, b) => a + b, 0);
      expect(Math.round(sum * 100), lead.id).toBe(Math.round(lead.score * 100));
    }
  });

  it('marks the usage region the README quotes', () => {
    const source = readFileSync(new URL('../src/tour-marketplace/main.ts', import.meta.url), 'utf8');
    const region = /\/\/ #region usage\n([\s\S]*?)\/\/ #endregion usage/.exec(source)?.[1] ?? '';
    expect(region).toContain('createEngine(');
    expect(region).toContain('engine.track(');
    expect(region).toContain('engine.getLead(');
  });
});
