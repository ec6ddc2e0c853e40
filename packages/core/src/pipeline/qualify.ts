/**
 * The qualify stage: json-rules-engine conditions over lead facts decide the stage and tier.
 * Pure. The highest-priority matching rules decide; among equal priorities the most advanced
 * stage wins. Stages only move forward unless `qualification.demotion` is true.
 * @module
 */
import type { Facts } from '../rules/types.js';
import type { LeadState, StageTransition } from '../types.js';
import type { Runtime } from './runtime.js';

type QualificationRule = Runtime['qualification'][number];

/** What qualification decided for one step. */
export interface QualifyResult {
  stage: string;
  tier: string | null;
  transition?: StageTransition;
  /** The rule that set the tier, or `score` when the score band did. */
  tierCause: string | null;
}

/** Evaluates the qualification rules on `facts` for a lead whose score is already updated. */
export function qualify(rt: Runtime, lead: LeadState, facts: Facts, at: number, eventId: string | undefined): QualifyResult {
  // The deciding rules are kept as references to the rules themselves (not a small object per
  // match): this runs for every event.
  let stageRule: QualificationRule | undefined;
  let tierRule: QualificationRule | undefined;
  for (const rule of rt.qualification) {
    if (rule.condition && !rule.condition.test(facts)) continue;
    const stage = rule.def.stage;
    if (stage !== undefined) {
      if (!stageRule) stageRule = rule;
      else if (rule.priority === stageRule.priority && (rt.stageIndex.get(stage) ?? 0) > (rt.stageIndex.get(stageRule.def.stage as string) ?? 0)) stageRule = rule;
    }
    if (rule.def.tier !== undefined && !tierRule) tierRule = rule;
  }

  let tier: string | null = null;
  let tierCause: string | null = null;
  if (tierRule) {
    tier = tierRule.def.tier as string;
    tierCause = tierRule.name;
  } else {
    const band = scoreTier(rt, lead.score);
    if (band) {
      tier = band;
      tierCause = 'score';
    }
  }

  let stage = lead.stage;
  let transition: StageTransition | undefined;
  const ruleStage = stageRule?.def.stage;
  if (stageRule && ruleStage !== undefined && ruleStage !== lead.stage) {
    const forward = (rt.stageIndex.get(ruleStage) ?? 0) > (rt.stageIndex.get(lead.stage) ?? 0);
    if (forward || rt.config.qualification.demotion) {
      stage = ruleStage;
      // Two literals, not a conditional spread (which allocates a throw-away object).
      transition = eventId !== undefined ? { from: lead.stage, to: stage, at, cause: stageRule.name, eventId } : { from: lead.stage, to: stage, at, cause: stageRule.name };
    }
  }
  return transition ? { stage, tier, transition, tierCause } : { stage, tier, tierCause };
}

/** The score band a score falls in, or null when it is in none. */
export function scoreTier(rt: Runtime, score: number): string | null {
  for (const t of rt.tiers) if (score >= t.minScore && (score < t.upper || (t.upper === 100 && score === 100))) return t.name;
  return null;
}
