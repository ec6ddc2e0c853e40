/**
 * Which facts each kind of rule can use. Rules naming any other fact are rejected when the
 * config is parsed, with the list of facts that exist.
 * @module
 */

/** Facts of a lead, available to qualification and routing rules. */
export const LEAD_FACTS = [
  'score',
  'components',
  'counts',
  'signals',
  'firstSeenAt',
  'lastSeenAt',
  'profile',
  'stage',
  'tier',
  'tenantId',
  'subjectId',
  'targetId',
  'anonymous',
  'event',
  'hour',
  'weekday',
  'businessHours',
] as const;

/** Facts of the event being scored, available to scoring modifiers. */
export const EVENT_FACTS = ['event', 'profile', 'hour', 'weekday', 'businessHours', 'tenantId', 'subjectId', 'targetId', 'anonymous'] as const;

/** Facts available to profile fit rules. */
export const FIT_FACTS = ['profile', 'tenantId', 'subjectId', 'targetId', 'anonymous'] as const;

/** Facts available to a routing rule's `where` (candidate owner filter). */
export const OWNER_FACTS = [...LEAD_FACTS, 'owner'] as const;

/** Lifecycle events automations can listen to. */
export const LIFECYCLE_EVENTS = [
  'lead.created',
  'lead.scored',
  'lead.qualified',
  'lead.stage_changed',
  'lead.routed',
  'lead.delivered',
  'lead.acknowledged',
  'lead.stale',
  'notification.sent',
  'notification.failed',
  'activity.created',
  'activity.completed',
  'activity.overdue',
] as const;

/** The first key of a simple JSONPath (`$.a.b` → `a`, `$['a b']` → `a b`), or undefined. */
export function firstPathKey(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const dotted = /^\$\.([A-Za-z_$][\w$-]*)/.exec(path);
  if (dotted) return dotted[1];
  const bracket = /^\$\[\s*(['"])(.*?)\1\s*\]/.exec(path);
  return bracket ? bracket[2] : undefined;
}
