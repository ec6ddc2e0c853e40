import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventInputSchema, isValidEvent } from '../../src/pipeline/validate-event.js';

const field = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 3 }),
  fc.string({ minLength: 250, maxLength: 260 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constantFrom('2026-03-01T14:30:00Z', '2026-03-01T14:30:00.123+02:00', '2026-02-30T10:00:00Z', '2026-03-01 14:30', '2026-03-01T14:30:00'),
  fc.constantFrom(0, 1_700_000_000_000, -1, 1.5, 253_402_300_800_000),
  fc.dictionary(fc.string({ maxLength: 2 }), fc.oneof(fc.boolean(), fc.string({ maxLength: 2 }))),
  fc.record({ consent: fc.oneof(fc.constant(undefined), fc.dictionary(fc.string({ maxLength: 2 }), fc.oneof(fc.boolean(), fc.integer()))) }),
);

/** Mostly valid values, each field sometimes swapped for an arbitrary one, so both sides are reached. */
const mostly = <T,>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: field, weight: 1 });
const id = fc.string({ minLength: 1, maxLength: 8 });
const eventLike = fc.record(
  {
    id: mostly(id),
    tenantId: mostly(id),
    type: mostly(id),
    subjectId: mostly(id),
    anonymousId: mostly(id),
    targetId: mostly(id),
    channel: mostly(fc.string({ maxLength: 8 })),
    occurredAt: mostly(fc.oneof(fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.constant('2026-03-01T14:30:00Z'))),
    properties: mostly(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue())),
    context: mostly(fc.record({ consent: fc.dictionary(fc.string({ maxLength: 3 }), fc.boolean()) }, { requiredKeys: [] })),
    extra: field,
  },
  { requiredKeys: ['id', 'type', 'occurredAt'] },
);

describe('isValidEvent', () => {
  it('never accepts what the schema rejects, and agrees on the valid ones', () => {
    let valid = 0;
    fc.assert(
      fc.property(eventLike, (e) => {
        const fast = isValidEvent(e);
        if (fast) valid++;
        const schema = eventInputSchema.safeParse(e).success;
        if (fast) expect(schema).toBe(true);
        // On these plain objects the two agree exactly.
        expect(fast).toBe(schema);
      }),
      { numRuns: 5000 },
    );
    // The generator must reach the accepting side too, or the property says little.
    expect(valid).toBeGreaterThan(200);
  });
});
