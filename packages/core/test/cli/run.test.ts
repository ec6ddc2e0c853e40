import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, FIXTURES, sink } from './helpers.js';
import { main } from '../../src/cli/main.js';
import type { LeadState } from '../../src/types.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'leadpipe-cli-run-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const RUN = ['run', '--config', 'tour.json', '--events', 'events.ndjson'];

/** NDJSON of `n` valid events spread over 500 (subject, tour) leads. */
function manyEvents(n: number): string {
  const types = ['view', 'view', 'bookmark', 'itinerary_add'];
  let text = '';
  for (let i = 0; i < n; i++) {
    text += `${JSON.stringify({ id: `m${i}`, type: types[i % 4], subjectId: `u${i % 500}`, targetId: i % 500 < 250 ? 'tour-1' : 'tour-2', occurredAt: 1_772_452_800_000 + i * 1000 })}\n`;
  }
  return text;
}

describe('leadpipe run', () => {
  it('tracks the events and prints totals, leads by stage × tier and routed leads by owner', async () => {
    const r = await cli(RUN);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'Totals',
        '  events          12',
        '  processed       10',
        '  duplicates       1',
        '  stored only      1',
        '  rejected         0',
        '  leads            4',
        '  routes           2',
        '',
        'Leads by stage × tier',
        '  stage    hot  warm  cold  total',
        '  -------  ---  ----  ----  -----',
        '  new        0     0     1      1',
        '  engaged    0     0     1      1',
        '  routed     1     1     0      2',
        '  total      1     1     2      4',
        '',
        'Routed leads by owner',
        '  owner      name          leads',
        '  ---------  ------------  -----',
        '  op-lisbon  Lisbon Walks      1',
        '  op-porto   Porto Boats       1',
        '',
      ].join('\n'),
    );
  });

  it('prints the summary as JSON with --json', async () => {
    const r = await cli([...RUN, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      totals: { events: 12, processed: 10, duplicates: 1, stored: 1, rejected: 0, invalidLines: 0, leads: 4, routes: 2 },
      leadsByStageAndTier: { new: { cold: 1 }, engaged: { cold: 1 }, routed: { hot: 1, warm: 1 } },
      routedLeadsByOwner: { 'op-lisbon': 1, 'op-porto': 1 },
    });
  });

  it('counts events withheld for lack of consent as rejected', async () => {
    const tour = JSON.parse(await readFile(new URL('./fixtures/tour.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const path = join(tmp, 'consent.json');
    await writeFile(path, JSON.stringify({ ...tour, $schema: undefined, privacy: { consent: { required: true } } }));
    const events = join(tmp, 'consent.ndjson');
    await writeFile(
      events,
      [
        { id: 'c1', type: 'view', subjectId: 'u1', targetId: 'tour-1', occurredAt: '2026-03-02T09:00:00Z', context: { consent: { marketing: true } } },
        { id: 'c2', type: 'view', subjectId: 'u2', targetId: 'tour-1', occurredAt: '2026-03-02T09:00:00Z' },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
    const r = await cli(['run', '--config', path, '--events', events, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).totals).toMatchObject({ events: 2, processed: 1, rejected: 1, leads: 1 });
  });

  it('writes the final leads as NDJSON with --out', async () => {
    const out = join(tmp, 'leads.ndjson');
    const r = await cli([...RUN, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Wrote 4 leads to ${out}`);
    const text = await readFile(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const leads = text.trimEnd().split('\n').map((l) => JSON.parse(l) as LeadState);
    expect(leads.map((l) => l.id)).toEqual(['anon:device-7|tour-3', 'u1|tour-1', 'u2|tour-3', 'u3|tour-2']);
    expect(leads[1]).toMatchObject({ stage: 'routed', tier: 'hot', routes: [{ ownerId: 'op-lisbon', rule: 'tour-operator' }] });
    expect(leads[1]?.counts).toEqual({ view: 2, bookmark: 1, itinerary_add: 1 });
  });

  it('pages through every lead for --out (more than one page)', async () => {
    const events = join(tmp, 'many.ndjson');
    await writeFile(events, manyEvents(2000));
    const out = join(tmp, 'many-leads.ndjson');
    const r = await cli(['run', '--config', 'tour.json', '--events', events, '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).totals.leads).toBe(500);
    const ids = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => (JSON.parse(l) as LeadState).id);
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
  });

  it('reports every bad line with its line number and processes nothing, exit 1', async () => {
    const out = join(tmp, 'never.ndjson');
    const r = await cli(['run', '--config', 'tour.json', '--events', 'events-bad.ndjson', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      'leadpipe: events-bad.ndjson has 3 invalid lines (4 problems); nothing was processed:',
      'line 2: occurredAt: expected an ISO-8601 time with an offset, e.g. "2026-03-01T14:30:00Z", or epoch milliseconds',
      expect.stringMatching(/^line 3: not valid JSON \(column 82\): /),
      'line 5: (root): unknown field(s) "colour": put custom data under "properties"',
      'line 5: subjectId: an event needs "subjectId" (a known person) or "anonymousId" (a device or session)',
      'Fix these lines, or pass --skip-invalid to process the valid ones.',
      '',
    ]);
    // Nothing was processed: the output file was never opened.
    await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('caps the listing at 50 problems with a "... and K more" line', async () => {
    const events = join(tmp, 'bad-many.ndjson');
    await writeFile(events, Array.from({ length: 60 }, (_, i) => `{"id":"x${i}"`).join('\n'));
    const r = await cli(['run', '--config', 'tour.json', '--events', events]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toContain('has 60 invalid lines (60 problems)');
    expect(lines.filter((l) => l.startsWith('line '))).toHaveLength(50);
    expect(lines[50]).toMatch(/^line 50: /);
    expect(lines[51]).toBe('... and 10 more');
  });

  it('with --skip-invalid processes the valid lines and reports the skipped ones, exit 0', async () => {
    const r = await cli(['run', '--config', 'tour.json', '--events', 'events-bad.ndjson', '--skip-invalid']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('leadpipe: skipped 3 invalid lines of events-bad.ndjson:');
    expect(r.stderr).toContain('line 2: occurredAt:');
    expect(r.stderr).toContain('line 3: not valid JSON');
    expect(r.stdout).toMatch(/^ {2}events +2$/m);
    expect(r.stdout).toMatch(/^ {2}invalid \(skipped\) +3$/m);
  });

  it('reads events from standard input with --events -', async () => {
    const stdin = Readable.from([await readFile(new URL('./fixtures/events.ndjson', import.meta.url))]);
    const r = await cli(['run', '--config', 'tour.json', '--events', '-', '--json'], { stdin });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).totals).toMatchObject({ events: 12, leads: 4 });
  });

  it('splits lines across chunk boundaries, CRLF endings and a byte-order mark', async () => {
    const text = `\uFEFF${(await readFile(new URL('./fixtures/events.ndjson', import.meta.url), 'utf8')).replace(/\n/g, '\r\n')}`;
    const bytes = Buffer.from(text, 'utf8');
    const pieces = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const r = await cli(['run', '--config', 'tour.json', '--events', '-', '--json'], { stdin: Readable.from(pieces) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).totals).toMatchObject({ events: 12, leads: 4 });
  });

  it('exits 2 on an unknown flag, a missing flag or a flag without its value', async () => {
    const unknown = await cli([...RUN, '--fast']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option --fast for "leadpipe run"');
    const typo = await cli(['run', '--config', 'tour.json', '--event', 'events.ndjson']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean --events?');
    const noConfig = await cli(['run', '--events', 'events.ndjson']);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('missing --config: pass the config file, e.g. --config leadpipe.json');
    const noEvents = await cli(['run', '--config', 'missing.json']);
    expect(noEvents.code).toBe(2);
    expect(noEvents.stderr).toContain('missing --events');
    const noValue = await cli(['run', '--config', '--events', 'events.ndjson']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('--config needs a value');
    expect((await cli([...RUN, '--json=yes'])).code).toBe(2);
  });

  it('exits 3 when the events file or the output file is unusable', async () => {
    const missing = await cli(['run', '--config', 'tour.json', '--events', 'nope.ndjson']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^leadpipe: cannot read events file nope\.ndjson \(.*nope\.ndjson\): no such file or directory \(ENOENT\)\n$/);
    const out = join(tmp, 'missing-dir', 'leads.ndjson');
    const unwritable = await cli([...RUN, '--out', out]);
    expect(unwritable.code).toBe(3);
    expect(unwritable.stderr).toBe(`leadpipe: cannot write output file ${out}: no such file or directory (ENOENT)\n`);
  });

  it('exits 1 for an invalid config before reading events', async () => {
    const r = await cli(['run', '--config', 'tour-broken.json', '--events', 'nope.ndjson']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('routing.minScore: must be between 0 and 100');
  });

  it('shows a progress bar on a terminal for more than 10,000 events, and clears it', async () => {
    const events = join(tmp, 'big.ndjson');
    await writeFile(events, manyEvents(10_001));
    const stdout = sink();
    const stderr = sink({ isTTY: true, columns: 100 });
    let t = 0;
    // A fake clock that advances 30 ms per reading: the bar redraws on some chunks, not all.
    const ok = await main(['run', '--config', join(FIXTURES, 'tour.json'), '--events', events], { stdout, stderr, isTTY: true, now: () => (t += 30) });
    expect(ok).toBe(0);
    const frames = stderr.text.split('\r\x1b[2K').filter((f) => f !== '' && !f.startsWith('leadpipe:'));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.length).toBeLessThanOrEqual(11);
    expect(frames[frames.length - 1]).toMatch(/^\[█+\] {2}100% {2}10,001\/10,001 events {2}[\d,]+\/s {2}ETA 0:00$/);
    expect(stderr.text.endsWith('\r\x1b[2K')).toBe(true);
    expect(stdout.text).toContain('10,001');
  });

  it('draws no progress bar when stderr is not a terminal', async () => {
    const events = join(tmp, 'big2.ndjson');
    await writeFile(events, manyEvents(10_001));
    const r = await cli(['run', '--config', 'tour.json', '--events', events], { isTTY: false });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
