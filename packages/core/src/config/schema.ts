/**
 * The configuration schema: one zod v4 schema for the whole document. The JSON Schema shipped in
 * `schema/leadpipe.schema.json` is generated from it (`pnpm --filter @leadpipe/core gen:schema`),
 * and a test fails when the committed file drifts.
 * @module
 */
import { z } from 'zod';
import type { TopLevelCondition } from '../rules/types.js';
import { DURATION_PATTERN } from './duration.js';

/** Weekday names accepted in configs, Monday first. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
/** A weekday name. */
export type Weekday = (typeof WEEKDAYS)[number];

/** The stages a lead moves through when the config names none. */
export const DEFAULT_STAGES = ['new', 'engaged', 'qualified', 'routed', 'accepted', 'converted', 'lost'] as const;

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), { message: 'expected a duration such as "30m", "1h", "7d" or "2w"' })
  .meta({ description: 'A number and a unit: ms, s, m, h, d or w. Example: "7d".' });

const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-4]):[0-5]\d$/, { message: 'expected a local time "HH:MM" between "00:00" and "24:00"' });

const name = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(100, { message: 'must be at most 100 characters' });

/**
 * A condition in json-rules-engine's JSON format (`all` / `any` / `not` / `condition`, leaves with
 * `fact`, `operator`, `value`, optional `path` and `params`). The structure is checked in detail by
 * the rule validator, which reports every problem with its JSON path.
 */
export const conditionSchema = z
  .custom<TopLevelCondition>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
    message: 'expected a condition object with "all", "any", "not" or "condition"',
  })
  .meta({ id: 'Condition' });

const timeZone = z
  .string()
  .refine(isTimeZone, { message: 'expected an IANA time zone such as "UTC", "Europe/Paris" or "America/New_York"' });

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const weeklyWindow = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1).default([...WEEKDAYS.slice(0, 5)]),
    start: clockTime,
    end: clockTime,
  })
  .strict()
  .meta({ description: 'A weekly window in local time: [start, end) on each listed day. An end before the start wraps past midnight.' });

const signalSchema = z
  .object({
    description: z.string().optional(),
    points: z.number().finite().meta({ description: 'Points one event of this type adds before modifiers. May be negative.' }),
    component: name.default('engagement').meta({ description: 'The score component these points count towards.' }),
    halfLife: duration.optional().meta({ description: 'Points halve after this long (exponential decay).' }),
    window: duration.optional().meta({ description: 'Points stop counting this long after the event.' }),
    cap: z
      .object({
        max: z.number().int().min(1),
        per: z.enum(['hour', 'day', 'week', 'month', 'lifetime']),
      })
      .strict()
      .optional()
      .meta({ description: 'At most `max` events of this type score per calendar bucket in the config time zone.' }),
    diminishing: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .meta({ description: 'The n-th event in a cap bucket scores points × diminishing^(n-1).' }),
  })
  .strict();

const normalizeSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('linear'), max: z.number().positive() }).strict(),
    z.object({ type: z.literal('saturating'), scale: z.number().positive() }).strict(),
  ])
  .meta({
    description:
      'How raw points become 0–100. linear: min(100, 100·raw/max). saturating: 100·(1 − e^(−raw/scale)). Negative raw points give 0.',
  });

const componentSchema = z
  .object({
    weight: z.number().min(0).default(1),
    normalize: normalizeSchema.optional(),
  })
  .strict();

const modifierSchema = z
  .object({
    name,
    signals: z.array(z.string()).optional().meta({ description: 'Signals it applies to; all when omitted.' }),
    hours: z
      .tuple([z.number().int().min(0).max(23), z.number().int().min(1).max(24)])
      .optional()
      .meta({ description: 'Local hours [from, to): [18, 24] is 18:00–24:00. from > to wraps past midnight.' }),
    weekdays: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    businessHours: z.boolean().optional().meta({ description: 'true: only inside business hours; false: only outside.' }),
    conditions: conditionSchema.optional().meta({ description: 'Conditions on the event facts (event, profile, hour, weekday, businessHours).' }),
    multiply: z.number().min(0).optional(),
    add: z.number().finite().optional(),
  })
  .strict();

const fitRuleSchema = z
  .object({
    name,
    conditions: conditionSchema,
    points: z.number().finite(),
    component: name.default('fit'),
  })
  .strict();

const tierSchema = z
  .object({
    name,
    minScore: z.number().meta({ description: 'Lowest score in this tier (inclusive), 0–100.' }),
    maxScore: z.number().optional().meta({ description: 'Score where this tier ends (exclusive). Defaults to the next higher tier’s minScore, or 100 inclusive.' }),
  })
  .strict();

const qualificationRuleSchema = z
  .object({
    name,
    priority: z.number().int().min(1).default(1),
    conditions: conditionSchema,
    stage: z.string().optional(),
    tier: z.string().optional(),
  })
  .strict();

const ownerSchema = z
  .object({
    id: name,
    name: z.string().optional(),
    attributes: z.record(z.string(), z.unknown()).default({}),
    capacity: z.number().int().min(0).optional().meta({ description: 'Maximum open leads (routed, not yet closed). No limit when omitted.' }),
    active: z.boolean().default(true),
    timeZone: timeZone.optional(),
    availability: z.array(weeklyWindow).optional().meta({ description: 'When the owner takes leads. Always when omitted.' }),
    targets: z.array(z.string()).default([]).meta({ description: 'Target ids this owner owns (for the owner-of-target strategy).' }),
  })
  .strict();

const routeTargetSchema = z
  .object({
    owners: z
      .union([z.array(z.string()).min(1), z.literal('target')])
      .optional()
      .meta({ description: 'Candidate owner ids, or "target" for the owners of the lead’s target.' }),
    where: conditionSchema.optional().meta({ description: 'Keep candidates for which these conditions hold; the `owner` fact is the candidate.' }),
    pick: z.enum(['all', 'round-robin', 'least-loaded', 'first']).default('all'),
    sink: z.string().default('default'),
  })
  .strict();

const routingRuleSchema = z
  .object({
    name,
    priority: z.number().int().min(1).default(1),
    conditions: conditionSchema.optional(),
    to: routeTargetSchema,
  })
  .strict();

const templateSchema = z.object({ subject: z.string().optional(), body: z.string() }).strict();

/** Declared for the notification stage; validated now, used by a later release. */
const notificationsSchema = z
  .object({
    templates: z.record(z.string(), templateSchema).default({}),
    tiers: z
      .record(z.string(), z.object({ channels: z.array(z.string()).min(1), template: z.string() }).strict())
      .default({}),
    quietHours: weeklyWindow.optional(),
    rateLimits: z
      .array(z.object({ channel: z.string(), max: z.number().int().min(1), per: duration }).strict())
      .default([]),
    retries: z.object({ max: z.number().int().min(0).default(5), backoff: duration.default('30s') }).strict().optional(),
  })
  .strict();

/** Declared for follow-up automations; validated now, used by a later release. */
const automationSchema = z
  .object({
    name,
    on: z.string(),
    conditions: conditionSchema.optional(),
    actions: z
      .array(z.object({ type: z.string(), delay: duration.optional(), params: z.record(z.string(), z.unknown()).default({}) }).strict())
      .min(1),
  })
  .strict();

const privacySchema = z
  .object({
    consent: z
      .object({
        required: z.boolean().default(false),
        purpose: z.string().default('marketing').meta({ description: 'The consent purpose an event must carry in context.consent.' }),
      })
      .strict()
      .default({ required: false, purpose: 'marketing' }),
    piiFields: z.array(z.string()).default([]).meta({ description: 'Property and trait names masked in errors and logs.' }),
    retention: duration.optional(),
  })
  .strict();

/** The zod schema of a leadpipe configuration document. */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().optional(),
    timeZone: timeZone.default('UTC'),
    leadKey: z
      .array(z.enum(['subjectId', 'targetId']))
      .min(1)
      .default(['subjectId'])
      .meta({ description: 'Fields that identify a lead within a tenant: ["subjectId"] or ["subjectId", "targetId"].' }),
    signals: z.record(z.string(), signalSchema).meta({ description: 'Scored event types, by event type.' }),
    scoring: z
      .object({
        components: z.record(z.string(), componentSchema).default({ engagement: { weight: 1 } }),
        normalize: normalizeSchema.default({ type: 'linear', max: 100 }),
        businessHours: weeklyWindow.default({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }),
        modifiers: z.array(modifierSchema).default([]),
        fit: z.array(fitRuleSchema).default([]),
      })
      .strict()
      .default({
        components: { engagement: { weight: 1 } },
        normalize: { type: 'linear', max: 100 },
        businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
        modifiers: [],
        fit: [],
      }),
    qualification: z
      .object({
        stages: z.array(name).min(1).default([...DEFAULT_STAGES]),
        demotion: z.boolean().default(false).meta({ description: 'Allow rules to move a lead to an earlier stage.' }),
        rules: z.array(qualificationRuleSchema).default([]),
        tiers: z.array(tierSchema).default([]).meta({ description: 'Score bands, highest first.' }),
      })
      .strict()
      .default({ stages: [...DEFAULT_STAGES], demotion: false, rules: [], tiers: [] }),
    routing: z
      .object({
        minScore: z.number().default(0),
        dedupeWindow: duration.default('7d').meta({ description: 'The same lead never reaches the same owner twice inside this window.' }),
        stage: z.string().nullable().default('routed').meta({ description: 'Stage a lead moves to when routed; null leaves the stage alone.' }),
        closedStages: z.array(z.string()).default(['accepted', 'converted', 'lost']).meta({ description: 'Stages in which a lead is no longer routed and no longer counts against an owner’s capacity.' }),
        owners: z.array(ownerSchema).default([]),
        rules: z.array(routingRuleSchema).default([]),
        fallback: routeTargetSchema.optional(),
      })
      .strict()
      .optional(),
    notifications: notificationsSchema.optional(),
    automations: z.array(automationSchema).default([]),
    privacy: privacySchema.default({ consent: { required: false, purpose: 'marketing' }, piiFields: [] }),
  })
  .strict();

/** A configuration as written (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
/** A configuration after parsing: defaults filled in. */
export type Config = z.output<typeof configSchema>;
export type SignalConfig = Config['signals'][string];
export type ModifierConfig = Config['scoring']['modifiers'][number];
export type OwnerConfig = NonNullable<Config['routing']>['owners'][number];
export type RoutingRuleConfig = NonNullable<Config['routing']>['rules'][number];
export type RouteTargetConfig = NonNullable<Config['routing']>['fallback'] & {};
export type QualificationRuleConfig = Config['qualification']['rules'][number];
export type TierConfig = Config['qualification']['tiers'][number];
export type WeeklyWindow = z.output<typeof weeklyWindow>;
