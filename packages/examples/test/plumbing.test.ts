import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@leadpipe/core';
import { main, type PlumbingSummary } from '../src/plumbing/main.js';

const configUrl = new URL('../src/plumbing/config.json', import.meta.url);

describe('plumbing config', () => {
  it('passes parseConfig and points its $schema at the shipped JSON Schema', () => {
    const raw = JSON.parse(readFileSync(configUrl, 'utf8')) as { $schema: string };
    const config = parseConfig(raw);
    expect(config.timeZone).toBe('America/Chicago');
    expect(config.qualification.tiers.map((t) => t.name)).toEqual(['emergency', 'standard', 'low']);
    expect(raw.$schema).toBe('../../../core/schema/leadpipe.schema.json');
    expect(existsSync(fileURLToPath(new URL(raw.$schema, configUrl)))).toBe(true);
  });
});

describe('plumbing example', () => {
  let summary: PlumbingSummary;
  beforeAll(async () => {
    summary = await main({ quiet: true });
  });
  const step = (id: string) => summary.steps.find((s) => s.eventId === id);
  const deliveriesOf = (leadId: string) => summary.deliveries.filter((d) => d.leadId === leadId);

  it('scores the same emergency click by local time: office hours, weekend evening, late night', () => {
    expect(step('w-351')?.score).toBe(30); // Thursday 15:10 in Chicago: no modifier
    expect(step('w-401')?.score).toBe(52.5); // Saturday 21:40: (30 + 5 weekend) × 1.5 after hours
    expect(step('w-201')?.score).toBe(54); // Wednesday 02:30: 30 × 1.5 after hours × 1.2 late night
  });

  it('pages the owner, who is on call, for an after-hours emergency', () => {
    expect(step('w-401')).toMatchObject({ tier: 'emergency', routing: 'routed', rule: 'emergency-to-on-call', routedTo: ['dana'] });
    expect(deliveriesOf('anon:sess-burst')).toEqual([expect.objectContaining({ sink: 'pager', ownerId: 'dana', tier: 'emergency' })]);
    expect(step('w-402')?.routing).toBe('deduped');
  });

  it('falls back to the answering service when the owner is off call', () => {
    expect(step('w-201')).toMatchObject({ tier: 'emergency', rule: 'fallback', routedTo: ['answering-service'] });
    expect(deliveriesOf('anon:sess-night')).toEqual([expect.objectContaining({ sink: 'pager', ownerId: 'answering-service' })]);
  });

  it('emails standard leads to the sales inbox, including an emergency while the office is open', () => {
    expect(step('w-105')).toMatchObject({ tier: 'standard', rule: 'standard-to-inbox', routedTo: ['sales-inbox'] });
    expect(step('w-352')).toMatchObject({ tier: 'standard', routedTo: ['sales-inbox'] });
    expect(deliveriesOf('anon:sess-day')).toEqual([expect.objectContaining({ sink: 'email', ownerId: 'sales-inbox' })]);
  });

  it('does not route a low lead', () => {
    expect(summary.leads['anon:sess-browse']).toMatchObject({ tier: 'low', stage: 'new', routes: [] });
    expect(step('w-302')?.routing).toBe('below-threshold');
  });

  it('moves an identified session’s history to the customer and adds profile fit', () => {
    expect(summary.identifiedLeads).toEqual(['cust-1042']);
    expect(summary.leads['anon:sess-heater']).toBeUndefined();
    const customer = summary.leads['cust-1042'];
    expect(customer?.counts).toEqual({ page_view: 3, form_start: 1, form_submit: 1 });
    expect(customer?.sources).toMatchObject({ 'fit:in-service-area': 10, 'fit:high-value-job': 10 });
    expect(customer).toMatchObject({ tier: 'standard', stage: 'routed' });
  });

  it('splits every score exactly into points by source', () => {
    for (const lead of Object.values(summary.leads)) {
      const sum = Object.values(lead.sources).reduce((a, b) => a + b, 0);
      expect(Math.round(sum * 100), lead.id).toBe(Math.round(lead.score * 100));
    }
  });

  // identify replays the merged history with the new profile; the fit points move the routing
  // decision to an earlier event, but the inbox already has this person within the 12 h window.
  it('delivers the quote-form lead to the sales inbox once, across the identity merge', () => {
    const inbox = summary.deliveries.filter((d) => d.ownerId === 'sales-inbox' && (d.leadId === 'anon:sess-heater' || d.leadId === 'cust-1042'));
    expect(inbox).toHaveLength(1);
  });
});
