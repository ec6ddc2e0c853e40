import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isLeadpipeError, type LeadpipeError } from '../../src/errors.js';
import { MemoryStore } from '../../src/memory/index.js';
import { AuditLog } from '../../src/memory/audit-log.js';
import { LeadCodec } from '../../src/memory/lead-record.js';
import { MAX_KEYS } from '../../src/memory/string-table.js';
import { errorWhile, reportSize } from './full-tables.js';
import { TimelineColumns } from '../../src/memory/timeline.js';
import type { AuditEntry, LeadState, StoredEvent } from '../../src/types.js';
import { makeAudit, makeBatch, makeEffect, makeEvent, makeLead, makeProfile, storeConformance } from '../../src/testing/index.js';

const RUNS = Number(process.env.LEADPIPE_PROPERTY_RUNS ?? 1000);

storeConformance('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryStore specifics', () => {
  it('keeps committed events as they are, and leads in its own form: each read is a fresh equal copy', async () => {
    const store = new MemoryStore();
    const lead = makeLead({ tenantId: 't', targetId: 'tour-1', components: { engagement: 12.5 }, counts: { view: 2 } });
    const event = makeEvent({ tenantId: 't', id: 'e-1' });
    await store.commit(makeBatch('t', { events: [event], leads: [{ lead, expectedVersion: null }] }));
    const read = (await store.getLead('t', lead.id)) as LeadState;
    expect(read).toStrictEqual(lead);
    expect(read).not.toBe(lead);
    read.components.engagement = 99;
    read.counts.view = 7;
    expect(await store.getLead('t', lead.id)).toStrictEqual(lead);
    expect((await store.subjectEvents('t', event.subjectRef))[0]).toBe(event);
  });

  it('keeps the audit log in order: stage changes rebuilt exactly from columns, any other entry as the committed object', async () => {
    const store = new MemoryStore();
    const stage = (leadId: string, eventId: string | undefined) => ({
      tenantId: 't',
      at: 1_700_000_000_000.5,
      action: 'lead.stage_changed',
      leadId,
      subjectRef: 's',
      data: { from: leadId === 'a' ? null : 'new', to: 'engaged', cause: 'rule', eventId, occurredAt: -0 },
    });
    const entries = [
      stage('a', 'e-1'),
      makeAudit({ tenantId: 't', action: 'subject.identified', leadId: 'a', data: { anonymousId: 'x' } }),
      stage('b', undefined),
      { ...stage('a', 'e-2'), data: { ...stage('a', 'e-2').data, extra: 1 } },
      { ...stage('b', 'e-3'), tenantId: 'other' },
    ];
    await store.commit(makeBatch('t', { audit: entries }));
    const all = await store.listAudit('t');
    expect(all).toStrictEqual(entries);
    expect(JSON.stringify(all)).toBe(JSON.stringify(entries));
    expect(Object.is((all[0]?.data as { occurredAt: number }).occurredAt, -0)).toBe(true);
    expect(all[1]).toBe(entries[1]);
    expect(all[3]).toBe(entries[3]);
    expect(await store.listAudit('t', { leadId: 'a' })).toStrictEqual([entries[0], entries[1], entries[3]]);
    expect(await store.listAudit('t', { action: 'lead.stage_changed', limit: 2 })).toStrictEqual([entries[0], entries[2]]);
  });

  it('rebuilds audit entries about a lead the batch writes, a stored lead, an unknown lead and a lead the batch deletes', async () => {
    const store = new MemoryStore();
    const stored = makeLead({ tenantId: 't', subjectRef: 's-1', targetId: 'old', version: 1 });
    await store.commit(makeBatch('t', { leads: [{ lead: stored, expectedVersion: null }] }));
    const fresh = makeLead({ tenantId: 't', subjectRef: 's-1', targetId: 'new', version: 1 });
    const gone = makeLead({ tenantId: 't', subjectRef: 's-2', targetId: 'x', version: 1 });
    await store.commit(makeBatch('t', { leads: [{ lead: gone, expectedVersion: null }] }));
    // Equal strings, not the records' own: the store keeps the record's in their place where it has one.
    const copy = (s: string) => [...s].join('');
    const stage = (leadId: string, subjectRef: string, at: number): AuditEntry => ({
      tenantId: 't',
      at,
      action: 'lead.stage_changed',
      leadId: copy(leadId),
      subjectRef: copy(subjectRef),
      data: { from: 'new', to: 'engaged', cause: 'rule', eventId: `e-${at}`, occurredAt: at },
    });
    const entries = [stage(fresh.id, 's-1', 1), stage(stored.id, 's-1', 2), stage('nobody|x', 's-9', 3), stage(gone.id, 's-2', 4), stage(fresh.id, 'someone-else', 5)];
    // The log is handed each entry's stored record, whose strings it keeps in place of the entry's copies.
    const push = vi.spyOn(AuditLog.prototype, 'push');
    await store.commit(makeBatch('t', { leads: [{ lead: fresh, expectedVersion: null }], audit: entries.slice(0, 3) }));
    await store.commit(makeBatch('t', { leads: [{ lead: { ...fresh, version: 2 }, expectedVersion: 1 }], deleteLeads: [{ id: gone.id, expectedVersion: 1 }], audit: entries.slice(3) }));
    const handed = push.mock.calls.map(([, record]) => record?.id);
    push.mockRestore();
    expect(handed).toStrictEqual([fresh.id, stored.id, undefined, undefined, fresh.id]);
    expect(await store.listAudit('t')).toStrictEqual(entries);
    expect(await store.getLead('t', gone.id)).toBeUndefined();
    expect(await store.listAudit('t', { leadId: fresh.id })).toStrictEqual([entries[0], entries[4]]);
  });

  it('refuses a commit that would take a Map past 2^23 entries, before writing anything', async () => {
    const store = new MemoryStore();
    const first = makeLead({ tenantId: 't', subjectRef: 's-1', targetId: 'a', version: 1 });
    await store.commit(makeBatch('t', { leads: [{ lead: first, expectedVersion: null }] }));
    const event = makeEvent({ tenantId: 't', id: 'e-1', subjectRef: 's-1', subjectId: 's-1' });
    const update = { ...first, version: 2 };
    const fresh = makeLead({ tenantId: 't', subjectRef: 's-1', targetId: 'b', version: 1 });
    // The leads table is made to look full (a real one takes 2^23 records): every Map reports that
    // size while the spy is on (the commits below make no new record shape, whose cache counts its size).
    const error = await errorWhile(reportSize('Map', 2 ** 23), async () => {
      // Updating a stored lead adds no entry: allowed. A new lead would be the 2^23 + 1st: refused.
      await store.commit(makeBatch('t', { leads: [{ lead: update, expectedVersion: 1 }] }));
      await store.commit(makeBatch('t', { events: [event], leads: [{ lead: fresh, expectedVersion: null }] }));
    });
    expect(isLeadpipeError(error, 'STORE_FULL')).toBe(true);
    expect(String((error as Error).message)).toMatch(/tenant t's leads past 8,388,608 entries.*nothing was written/);
    expect((error as LeadpipeError).details).toMatchObject({ tenantId: 't', table: 'leads', adding: 1 });
    expect((await store.getLead('t', first.id))?.version).toBe(2);
    expect(await store.getLead('t', fresh.id)).toBeUndefined();
    expect(await store.subjectEvents('t', 's-1')).toStrictEqual([]);
    // The event id was not taken either: the same batch commits once there is room.
    await store.commit(makeBatch('t', { events: [event], leads: [{ lead: fresh, expectedVersion: null }] }));
    expect(await store.subjectEvents('t', 's-1')).toStrictEqual([event]);
  });

  it.each([
    ['outbox', (event: StoredEvent) => makeBatch('t', { events: [event], effects: [makeEffect({ tenantId: 't', id: 'dlv-1' })] })],
    ['aliases', (event: StoredEvent) => makeBatch('t', { events: [event], aliases: [{ anonymousId: 'd-1', subjectId: 's-1' }] })],
    ['profiles', (event: StoredEvent) => makeBatch('t', { events: [event], profiles: [makeProfile({ tenantId: 't', subjectId: 's-1' })] })],
  ] as const)('refuses a commit that could take the %s past 2^23 entries, before writing anything', async (table, batchOf) => {
    const store = new MemoryStore();
    await store.commit(makeBatch('t', { events: [makeEvent({ tenantId: 't', id: 'e-0', subjectRef: 's-0', subjectId: 's-0' })] }));
    const event = makeEvent({ tenantId: 't', id: 'e-1', subjectRef: 's-1', subjectId: 's-1' });
    // Every Map reports the limit while the spy is on (see the test above); the batch adds one entry to `table`.
    const error = await errorWhile(reportSize('Map', 2 ** 23), () => store.commit(batchOf(event)));
    expect(isLeadpipeError(error, 'STORE_FULL')).toBe(true);
    expect((error as LeadpipeError).details).toMatchObject({ tenantId: 't', table, size: 2 ** 23, adding: 1, limit: 2 ** 23 });
    expect(await store.subjectEvents('t', 's-1')).toStrictEqual([]);
    await store.commit(batchOf(event));
    expect(await store.subjectEvents('t', 's-1')).toStrictEqual([event]);
  });

  it.each(['events', 'timelines'] as const)('refuses a commit that could take a tenant\'s %s past the string tables\' limit, before writing anything', async (table) => {
    const store = new MemoryStore();
    await store.commit(makeBatch('t', { events: [makeEvent({ tenantId: 't', id: 'e-0', subjectRef: 's-0', subjectId: 's-0' })] }));
    const events = [makeEvent({ tenantId: 't', id: 'e-1', subjectRef: 's-1', subjectId: 's-1' }), makeEvent({ tenantId: 't', id: 'e-2', subjectRef: 's-1', subjectId: 's-1' })];
    // The tables of one kind report one key short of the limit (a real one takes ~25M keys): the
    // event id index (a StringSet) or the timelines by person (a StringMap). The other answers truly.
    const error = await errorWhile(reportSize(table === 'events' ? 'StringSet' : 'StringMap', MAX_KEYS - 1), () => store.commit(makeBatch('t', { events })));
    expect(isLeadpipeError(error, 'STORE_FULL')).toBe(true);
    expect((error as LeadpipeError).details).toMatchObject({ tenantId: 't', table, size: MAX_KEYS - 1, adding: 2, limit: MAX_KEYS });
    expect(String((error as Error).message)).toMatch(table === 'events' ? /tenant t's event ids past 25,165,824 entries.*nothing was written/ : /tenant t's timelines \(people with stored events\) past 25,165,824 entries/);
    expect(await store.subjectEvents('t', 's-1')).toStrictEqual([]);
    // Nothing was taken: the ids are free, and the batch commits once there is room.
    expect(await store.existingEventIds('t', ['e-0', 'e-1', 'e-2'])).toStrictEqual(new Set(['e-0']));
    await store.commit(makeBatch('t', { events }));
    expect(await store.subjectEvents('t', 's-1')).toStrictEqual(events);
  });

  it('keeps long audit logs exactly across column chunks, and past the table of shared transitions', async () => {
    const store = new MemoryStore();
    // 10,050 distinct causes: more transitions than the log shares (the rest are kept as committed),
    // and three chunks of columns; every seventh entry is of another kind.
    const entries = Array.from({ length: 10_050 }, (_, i) =>
      i % 7 === 3
        ? makeAudit({ tenantId: 't', action: 'subject.identified', leadId: `l${i}`, data: { i } })
        : { tenantId: 't', at: 1_000 + i, action: 'lead.stage_changed', leadId: `l${i % 50}`, subjectRef: `s${i % 50}`, data: { from: i % 2 ? null : 'new', to: 'engaged', cause: `rule-${i}`, eventId: i % 5 ? `e${i}` : undefined, occurredAt: i / 3 } },
    );
    for (let i = 0; i < entries.length; i += 1000) await store.commit(makeBatch('t', { audit: entries.slice(i, i + 1000) }));
    const all = await store.listAudit('t');
    expect(all).toStrictEqual(entries);
    expect(JSON.stringify(all)).toBe(JSON.stringify(entries));
    expect(await store.listAudit('t', { leadId: 'l7' })).toStrictEqual(entries.filter((e) => e.leadId === 'l7'));
    expect(await store.listAudit('t', { action: 'subject.identified' })).toStrictEqual(entries.filter((e) => e.action === 'subject.identified'));
  });

  it('keeps the usual event in columns and rebuilds it exactly, in (occurredAt, id) order, any other event as committed', async () => {
    const store = new MemoryStore();
    const empty = Object.freeze({});
    // The engine's form: the subject's own id, frozen empty properties and context.
    const usual = (id: string, occurredAt: number, targetId?: string): StoredEvent => ({
      id,
      tenantId: 't',
      type: 'view',
      subjectRef: 's',
      subjectId: 's',
      ...(targetId !== undefined ? { targetId } : {}),
      occurredAt,
      properties: empty,
      context: empty,
      receivedAt: 1_700_000_000_000.25,
    });
    const withProps = { ...usual('e-4', 15, 'x'), properties: { plan: 'pro' } };
    const withChannel = { ...usual('e-5', 5), channel: 'app' };
    const batches = [[usual('e-1', 10, 'x'), usual('e-2', 30)], [usual('e-3', 20, 'y'), withProps], [withChannel, usual('e-0', 10, 'x')]];
    for (const events of batches) await store.commit(makeBatch('t', { events }));
    const all = await store.subjectEvents('t', 's');
    const expected = [withChannel, usual('e-0', 10, 'x'), usual('e-1', 10, 'x'), withProps, usual('e-3', 20, 'y'), usual('e-2', 30)];
    expect(all).toStrictEqual(expected);
    expect(JSON.stringify(all)).toBe(JSON.stringify(expected));
    expect(Object.isFrozen(all[1]?.properties)).toBe(true);
    expect(all[0]).toBe(withChannel);
    expect(all[3]).toBe(withProps);
    expect(await store.subjectEvents('t', 's', 'x')).toStrictEqual([usual('e-0', 10, 'x'), usual('e-1', 10, 'x'), withProps]);
  });

  it('compacts its timeline columns when people who all keep growing leave blocks nobody takes, and keeps every event', async () => {
    const compact = vi.spyOn(TimelineColumns.prototype, 'compact');
    try {
      const store = new MemoryStore();
      const empty = Object.freeze({});
      const people = 2000;
      const event = (s: number, round: number): StoredEvent => ({ id: `e-${round}-${s}`, tenantId: s % 2 === 0 ? 't' : 'u', type: 'view', subjectRef: `s${s}`, subjectId: `s${s}`, targetId: 'x', occurredAt: 1000 * round + s, properties: empty, context: empty, receivedAt: 1000 * round + s });
      // Every person gets one event a round: their timelines all grow, and no new person takes the blocks they outgrew.
      for (let round = 0; round < 30; round++) {
        for (const tenant of ['t', 'u']) await store.commit(makeBatch(tenant, { events: Array.from({ length: people / 2 }, (_, k) => event(2 * k + (tenant === 't' ? 0 : 1), round)) }));
      }
      expect(compact).toHaveBeenCalled();
      for (const s of [0, 1, 777, 1998, 1999]) {
        const expected = Array.from({ length: 30 }, (_, round) => event(s, round));
        expect(await store.subjectEvents(s % 2 === 0 ? 't' : 'u', `s${s}`)).toStrictEqual(expected);
      }
    } finally {
      compact.mockRestore();
    }
  });

  it('keeps many timelines growing side by side, events arriving in any order, and anonymous timelines moved away, exactly', async () => {
    const empty = Object.freeze({});
    const subjects = ['s0', 's1', 's2', 'anon:a', 'anon:b'];
    const event = fc.record({ subject: fc.constantFrom(...subjects), at: fc.integer({ min: 0, max: 40 }), target: fc.constantFrom(undefined, 'x', 'y'), odd: fc.boolean() }, { noNullPrototype: true });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(event, { maxLength: 30 }), { minLength: 1, maxLength: 4 }), fc.boolean(), async (batches, identify) => {
        const store = new MemoryStore();
        let n = 0;
        const all: StoredEvent[] = [];
        for (const batch of batches) {
          const events = batch.map(({ subject, at, target, odd }): StoredEvent => {
            const anonymous = subject.startsWith('anon:');
            // Ids in scrambled order (37 is prime to 1000): events at the same time do not arrive in id order.
            const e: StoredEvent = { id: `e-${String((n++ * 37) % 1000).padStart(3, '0')}`, tenantId: 't', type: 'view', subjectRef: subject, ...(anonymous ? {} : { subjectId: subject }), ...(target !== undefined ? { targetId: target } : {}), occurredAt: at, properties: odd ? { n } : empty, context: empty, receivedAt: 1_000 + n };
            if (anonymous) e.anonymousId = subject.slice(5);
            return e;
          });
          all.push(...events);
          await store.commit(makeBatch('t', { events }));
        }
        if (identify) await store.commit(makeBatch('t', { aliases: [{ anonymousId: 'a', subjectId: 's1' }] }));
        const order = (a: StoredEvent, b: StoredEvent) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : 1);
        for (const subject of subjects) {
          const mine = all.filter((e) => e.subjectRef === subject || (identify && subject === 's1' && e.subjectRef === 'anon:a')).sort(order);
          const expected = identify && subject === 'anon:a' ? [] : mine.map((e) => (e.subjectRef === subject ? e : { ...e, subjectRef: 's1', subjectId: 's1' }));
          expect(await store.subjectEvents('t', subject)).toStrictEqual(expected);
          expect(await store.subjectEvents('t', subject, 'x')).toStrictEqual(expected.filter((e) => e.targetId === 'x'));
        }
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it('moves aliased events as copies, leaving the committed objects untouched', async () => {
    const store = new MemoryStore();
    const event = makeEvent({ tenantId: 't', id: 'e-1', anonymousId: 'a' });
    await store.commit(makeBatch('t', { events: [event] }));
    await store.commit(makeBatch('t', { aliases: [{ anonymousId: 'a', subjectId: 's' }] }));
    expect(event.subjectRef).toBe('anon:a');
    expect((await store.subjectEvents('t', 's'))[0]).toMatchObject({ id: 'e-1', subjectRef: 's', subjectId: 's' });
  });

  it('returns 0 for counters never incremented', async () => {
    const store = new MemoryStore();
    expect(await store.getCounters('t', ['k'])).toEqual(new Map([['k', 0]]));
  });

  it('pages leads in id order and rejects a cursor it did not issue', async () => {
    const store = new MemoryStore();
    const leads = ['c', 'a', 'b'].map((id) => makeLead({ tenantId: 't', id }));
    await store.commit(makeBatch('t', { leads: leads.map((lead) => ({ lead, expectedVersion: null })) }));
    const first = await store.listLeads('t', { limit: 2 });
    expect(first.leads.map((l) => l.id)).toEqual(['a', 'b']);
    expect((await store.listLeads('t', { limit: 2, cursor: first.next })).leads.map((l) => l.id)).toEqual(['c']);
    await expect(store.listLeads('t', { cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('checks a lead written twice in one batch against the earlier write', async () => {
    const store = new MemoryStore();
    const v1 = makeLead({ tenantId: 't', version: 1 });
    const v2 = { ...v1, version: 2 };
    await store.commit(makeBatch('t', { leads: [{ lead: v1, expectedVersion: null }, { lead: v2, expectedVersion: 1 }] }));
    expect(await store.getLead('t', v1.id)).toStrictEqual(v2);
    await expect(
      store.commit(makeBatch('t', { leads: [{ lead: { ...v1, version: 3 }, expectedVersion: 2 }, { lead: { ...v1, version: 4 }, expectedVersion: 2 }] })),
    ).rejects.toMatchObject({ code: 'VERSION_CONFLICT', details: { leadId: v1.id, expectedVersion: 2, actualVersion: 3 } });
    expect(await store.getLead('t', v1.id)).toStrictEqual(v2);
  });

  it('a lead new to the store and written twice in one batch is one record, updated by the second write', async () => {
    const store = new MemoryStore();
    await store.commit(makeBatch('t', { leads: [{ lead: makeLead({ tenantId: 't', subjectRef: 'other' }), expectedVersion: null }] }));
    const v1 = makeLead({ tenantId: 't', version: 1 });
    const write = vi.spyOn(LeadCodec.prototype, 'write');
    try {
      await store.commit(makeBatch('t', { leads: [{ lead: v1, expectedVersion: null }, { lead: { ...v1, version: 2, score: 9 }, expectedVersion: 1 }] }));
      expect(write).toHaveBeenCalledTimes(2);
      // The second write goes into the record the first made (a second record would leak the first one's slab blocks).
      expect(write.mock.calls[1]?.[2]).toBe(write.mock.results[0]?.value);
    } finally {
      write.mockRestore();
    }
    expect(await store.getLead('t', v1.id)).toMatchObject({ version: 2, score: 9 });
  });

  it('a batch with an event that is not an object leaves no event id behind', async () => {
    const store = new MemoryStore();
    await store.commit(makeBatch('t', { events: [makeEvent({ tenantId: 't', id: 'e-0' })] }));
    const batch = makeBatch('t', { events: [makeEvent({ tenantId: 't', id: 'e-1' }), null as unknown as StoredEvent] });
    await expect(store.commit(batch)).rejects.toThrow(TypeError);
    expect(await store.existingEventIds('t', ['e-0', 'e-1'])).toEqual(new Set(['e-0']));
  });

  it('an event whose id or subjectRef is not a string, or whose times are not numbers, is rejected by name, and nothing of its batch is written', async () => {
    const store = new MemoryStore();
    const cases = [
      ['id', 42, /must be a string/],
      ['subjectRef', undefined, /must be a string/],
      ['occurredAt', '2025-01-01', /must be a number/],
      ['receivedAt', null, /must be a number/],
    ] as const;
    for (const [field, value, message] of cases) {
      const bad = { ...makeEvent({ tenantId: 't', id: 'e-bad' }), [field]: value } as unknown as StoredEvent;
      const error = await store.commit(makeBatch('t', { events: [makeEvent({ tenantId: 't', id: 'e-1', subjectRef: 's-1', subjectId: 's-1' }), bad] })).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'EVENT_INVALID', issues: [{ path: `events[1].${field}` }] });
      expect((error as Error).message).toMatch(message);
      expect(await store.existingEventIds('t', ['e-1', 'e-bad'])).toEqual(new Set());
      expect(await store.subjectEvents('t', 's-1')).toEqual([]);
    }
    // A lookup of a key that is not a string finds nothing (the id index holds strings only).
    expect(await store.existingEventIds('t', [42 as unknown as string])).toEqual(new Set());
  });

  it('closing twice is harmless', async () => {
    const store = new MemoryStore();
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
