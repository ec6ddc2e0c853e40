/**
 * Event validation at the boundary: a bad event is rejected with every problem named by field,
 * and nothing is written.
 * @module
 */
import { z } from 'zod';
import { EventError, maskValue, type Issue } from '../errors.js';
import { formatPath } from '../config/parse.js';
import type { EventInput } from '../types.js';

// Instants between 1970 and 9999: anything else is a unit mistake (seconds for ms, say).
const MAX_TIME = 253_402_300_799_999;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const id = z.string().min(1, { message: 'must not be empty' }).max(256, { message: 'must be at most 256 characters' });

/** The zod schema of an event as sent to `track`. */
export const eventInputSchema = z
  .object({
    id,
    tenantId: id.optional(),
    type: id,
    subjectId: id.optional(),
    anonymousId: id.optional(),
    targetId: id.optional(),
    channel: z.string().max(64).optional(),
    occurredAt: z.union([
      z.string().regex(ISO_WITH_OFFSET, { message: 'expected an ISO-8601 time with an offset, e.g. "2026-03-01T14:30:00Z", or epoch milliseconds' }),
      z.number().int({ message: 'epoch milliseconds must be a whole number' }).min(0).max(MAX_TIME),
    ]),
    properties: z.record(z.string(), z.unknown()).optional(),
    context: z
      .object({ consent: z.record(z.string(), z.boolean()).optional() })
      .catchall(z.unknown())
      .optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.subjectId === undefined && e.anonymousId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['subjectId'], message: 'an event needs "subjectId" (a known person) or "anonymousId" (a device or session)' });
    }
    if (typeof e.occurredAt === 'string' && ISO_WITH_OFFSET.test(e.occurredAt) && Number.isNaN(Date.parse(e.occurredAt))) {
      ctx.addIssue({ code: 'custom', path: ['occurredAt'], message: 'not a real date and time' });
    }
  });

/** Issues with one event, paths prefixed by `prefix` (e.g. `[3]` in a batch). */
export function eventIssues(input: unknown, prefix = ''): Issue[] {
  const parsed = eventInputSchema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => {
    const path = formatPath(i.path);
    const field = i.code === 'unrecognized_keys' ? `${prefix}${path ? (prefix ? '.' : '') + path : ''}` : `${prefix}${prefix && path && !path.startsWith('[') ? '.' : ''}${path}`;
    const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}: put custom data under "properties"` : i.message;
    const value = valueAt(input, i.path);
    return value === undefined ? { path: field, message } : { path: field, message, value: maskValue(value) };
  });
}

/** Validates one event; throws {@link EventError} naming every bad field. */
export function validateEvent(input: unknown): EventInput {
  const issues = eventIssues(input);
  if (issues.length > 0) throw new EventError(issues);
  return input as EventInput;
}

/** Epoch milliseconds of an `occurredAt` that passed validation. */
export function toEpoch(occurredAt: string | number): number {
  return typeof occurredAt === 'number' ? occurredAt : Date.parse(occurredAt);
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}
