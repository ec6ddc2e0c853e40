import { describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/engine.js';
import { cli } from './helpers.js';

const BASE = ['explain', '--config', 'tour.json', '--events', 'events.ndjson'];

describe('leadpipe explain', () => {
  it('explains a lead named by subject and target: score, rules with conditions, stage history, routing', async () => {
    const r = await cli([...BASE, '--subject', 'u2', '--target', 'tour-3']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).toContain('Lead u2|tour-3 (tenant default)\n  subject u2, target tour-3\n  stage routed, tier warm\n');
    expect(out).toContain('events by signal: view 1, bookmark 1, itinerary_add 1');
    // Score by source and by component.
    expect(out).toMatch(/^Score 59\.\d\d \(as of 2026-03-02T10:30:00\.000Z\)$/m);
    expect(out).toMatch(/^ {2}itinerary_add +40\.00$/m);
    expect(out).toMatch(/^ {2}engagement +59\.\d\d +59\.\d\d$/m);
    // Each rule with its conditions: fact, path, operator, expected, actual, ✓/✗.
    expect(out).toContain('  ✓ planning-a-trip (priority 2) → stage qualified\n      ✓ all of:\n');
    expect(out).toContain('        ✓ counts $.itinerary_add greaterThanInclusive 1  (actual: 1)\n');
    expect(out).toMatch(/✓ score greaterThanInclusive 50 {2}\(actual: 59\.\d+\)/);
    // Stage history, in order, with causes.
    expect(out).toMatch(/new +engaged +engaged +e5b/);
    expect(out).toMatch(/engaged +qualified +planning-a-trip +e6/);
    expect(out).toMatch(/qualified +routed +routing:tour-operator +e6/);
    // Routing decision and why: the inactive owner is skipped, the routed one deduped.
    expect(out).toContain('decision now: no new route: every candidate owner of rule "tour-operator" already received this lead inside the dedupe window');
    expect(out).toContain('    op-porto-old: inactive (owner.active is false) (rule tour-operator)\n');
    expect(out).toMatch(/op-porto +2026-03-02T10:30:00\.000Z +tour-operator +all +e6/);
  });

  it('shows failed conditions with ✗ and their actual values', async () => {
    const r = await cli([...BASE, '--lead', 'u3|tour-2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ✗ planning-a-trip (priority 2) → stage qualified\n');
    expect(r.stdout).toContain('✗ counts $.itinerary_add greaterThanInclusive 1  (actual: undefined)');
    expect(r.stdout).toContain('decision now: not routed: score 20.00 is below routing.minScore (50)');
  });

  it('names an anonymous lead with --anonymous and --target', async () => {
    const r = await cli([...BASE, '--anonymous', 'device-7', '--target', 'tour-3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lead anon:device-7|tour-3 (tenant default)');
  });

  it('decays the score to --at', async () => {
    const now = await cli([...BASE, '--lead', 'u3|tour-2', '--json']);
    const later = await cli([...BASE, '--lead', 'u3|tour-2', '--at', '2026-04-01T00:00:00Z', '--json']);
    expect(later.code).toBe(0);
    const a = JSON.parse(now.stdout) as Explanation;
    const b = JSON.parse(later.stdout) as Explanation;
    expect(b.at).toBe(Date.parse('2026-04-01T00:00:00Z'));
    expect(b.score.value).toBeLessThan(a.score.value);
  });

  it('prints the explanation as JSON with --json', async () => {
    const r = await cli([...BASE, '--subject', 'u1', '--target', 'tour-1', '--json']);
    expect(r.code).toBe(0);
    const x = JSON.parse(r.stdout) as Explanation;
    expect(x.lead.id).toBe('u1|tour-1');
    expect(x.rules.map((rule) => rule.name)).toEqual(['planning-a-trip', 'engaged']);
    expect(x.routing.routes).toEqual([expect.objectContaining({ ownerId: 'op-lisbon' })]);
  });

  it('exits 1 for an unknown lead, listing existing lead ids', async () => {
    const r = await cli([...BASE, '--subject', 'u9', '--target', 'tour-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('leadpipe: no lead "u9|tour-1" in tenant "default" after tracking 12 event(s).');
    expect(r.stderr).toContain('Existing leads include:\n  anon:device-7|tour-3\n  u1|tour-1\n');
    const tenant = await cli([...BASE, '--lead', 'u1|tour-1', '--tenant', 'acme']);
    expect(tenant.code).toBe(1);
    expect(tenant.stderr).toContain('Tenant "acme" has no leads');
  });

  it('exits 2 when the lead is not named exactly one way', async () => {
    const none = await cli(BASE);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('missing lead: name it with --lead ID, --subject ID or --anonymous ID');
    const two = await cli([...BASE, '--lead', 'u1|tour-1', '--subject', 'u1']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('name the lead one way only: got --lead and --subject');
    const noTarget = await cli([...BASE, '--subject', 'u1']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('--subject needs --target here');
    const leadAndTarget = await cli([...BASE, '--lead', 'u1|tour-1', '--target', 'tour-1']);
    expect(leadAndTarget.code).toBe(2);
    const badAt = await cli([...BASE, '--lead', 'u1|tour-1', '--at', 'tomorrow']);
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toContain('--at "tomorrow" is not a time');
    expect((await cli([...BASE, '--lead', 'u1|tour-1', '--verbose'])).code).toBe(2);
  });

  it('exits 1 on invalid events and 3 on a missing events file', async () => {
    expect((await cli(['explain', '--config', 'tour.json', '--events', 'events-bad.ndjson', '--lead', 'u1|tour-1'])).code).toBe(1);
    const skip = await cli(['explain', '--config', 'tour.json', '--events', 'events-bad.ndjson', '--lead', 'u1|tour-1', '--skip-invalid']);
    expect(skip.code).toBe(0);
    expect(skip.stdout).toContain('Lead u1|tour-1');
    expect((await cli(['explain', '--config', 'tour.json', '--events', 'gone.ndjson', '--lead', 'u1|tour-1'])).code).toBe(3);
  });
});

describe('leadpipe simulate', () => {
  it('prints what each event would do and the effects that would be created', async () => {
    const r = await cli(['simulate', '--config', 'tour.json', '--events', 'events.ndjson']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Simulated 12 events from an empty store; nothing was written or sent.');
    expect(lines[2]).toMatch(/^line +event +status +lead +score +stage +tier +routing$/);
    expect(r.stdout).toMatch(/^ +1 +e1 +processed +u1\|tour-1 +5\.00 +new +cold +below-threshold$/m);
    expect(r.stdout).toMatch(/^ +5 +e4 +processed +u1\|tour-1 +\d+\.\d\d +routed +hot +routed → op-lisbon$/m);
    expect(r.stdout).toMatch(/^ +12 +e10 +stored$/m);
    expect(r.stdout).toMatch(/^ +13 +e4 +duplicate$/m);
    expect(r.stdout).toContain('Effects that would be created: 2');
    expect(r.stdout).toMatch(/delivery +op-lisbon +u1\|tour-1 +sink default/);
    expect(r.stdout).toMatch(/delivery +op-porto +u2\|tour-3 +sink default/);
  });

  it('prints the results as JSON with --json', async () => {
    const r = await cli(['simulate', '--config', 'tour.json', '--events', 'events.ndjson', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { results: Array<{ line: number; status: string }>; effects: unknown[]; leads: unknown[] };
    expect(s.results.map((x) => x.line)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(s.results.filter((x) => x.status === 'duplicate')).toHaveLength(1);
    expect(s.effects).toHaveLength(2);
    expect(s.leads).toHaveLength(4);
  });

  it('uses the same exit codes as run', async () => {
    expect((await cli(['simulate', '--config', 'tour.json', '--events', 'events-bad.ndjson'])).code).toBe(1);
    expect((await cli(['simulate', '--config', 'tour.json'])).code).toBe(2);
    expect((await cli(['simulate', '--config', 'tour.json', '--events', 'events.ndjson', '--out', 'x'])).code).toBe(2);
    expect((await cli(['simulate', '--config', 'none.json', '--events', 'events.ndjson'])).code).toBe(3);
  });
});
