/**
 * The part of a lead that sinks and templates receive.
 * @module
 */
import type { LeadSnapshot, LeadState } from './types.js';

/** The part of a lead handed to sinks and templates; `profile` when given. */
export function snapshot(lead: LeadState, profile?: Record<string, unknown>): LeadSnapshot {
  return {
    id: lead.id,
    tenantId: lead.tenantId,
    subjectRef: lead.subjectRef,
    ...(lead.targetId !== undefined ? { targetId: lead.targetId } : {}),
    score: lead.score,
    components: lead.components,
    stage: lead.stage,
    tier: lead.tier,
    firstSeenAt: lead.firstSeenAt,
    lastSeenAt: lead.lastSeenAt,
    counts: lead.counts,
    ...(profile ? { profile } : {}),
  };
}
