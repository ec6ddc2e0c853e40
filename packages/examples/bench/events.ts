/**
 * The pipeline workloads' input: a seeded tour marketplace (tours with long-tail popularity,
 * operators, about one tour in eight run by two operators, two operators paused so their tours
 * fall back to the concierge desk) and a stream of traveler events generated on the fly.
 *
 * The stream is produced in chunks by {@link EventStream.next}, so 10 million events never sit
 * in memory at once, and the generator's own state is small and fixed (a ring of 2,048 active
 * "stories"), so it does not distort the memory measured per lead. Each story is one (traveler,
 * tour) pair: one or more views, then perhaps a bookmark, an itinerary add and an inquiry; the
 * events of the active stories interleave. `occurredAt` increases by 500 ms per event, so time
 * spent per event does not depend on the stream's length.
 * @module
 */
import { parseConfig } from '@leadpipe/core';
import type { Config } from '@leadpipe/core';
import { buildWorld as buildDemoWorld, demoConfig, mulberry32, type World } from '../src/tour-marketplace/demo.js';

/** First event time (a Tuesday, midnight UTC). */
export const START = Date.parse('2025-04-01T00:00:00Z');
/** Time between consecutive events. */
export const STEP_MS = 500;
const RING = 2048;

/** One generated event (the shape `track` takes). */
export interface TourEvent {
  id: string;
  type: 'tour_view' | 'tour_bookmark' | 'itinerary_add' | 'inquiry';
  subjectId: string;
  targetId: string;
  occurredAt: number;
}

/** The generated marketplace: the demo's generator, so the benchmark and the demo share one world model. */
export type { World };

/** 300 tours, 40 operators; deterministic for a seed. */
export function buildWorld(seed = 42, tourCount = 300, operatorCount = 40): World {
  return buildDemoWorld(mulberry32(seed), tourCount, operatorCount);
}

/** The parsed config for a world. */
export function tourConfig(world: World): Config {
  return parseConfig(demoConfig(world), { source: 'bench (tour-marketplace config.json + generated operators)' });
}

interface Story {
  subjectId: string;
  targetId: string;
  /** Event types still to send, in order. */
  plan: TourEvent['type'][];
  at: number;
}

/** A seeded, chunked event stream of a given length. */
export class EventStream {
  private readonly rng: () => number;
  private readonly ring: Array<Story | undefined> = new Array<Story | undefined>(RING);
  private readonly travelers: number;
  private produced = 0;

  constructor(
    private readonly world: World,
    readonly total: number,
    seed = 7,
  ) {
    this.rng = mulberry32(seed);
    // Travelers scale with the stream so pairs stay mostly distinct: ~2.6 events per lead at any size.
    this.travelers = Math.max(1000, Math.round(total / 10));
  }

  /** Events generated so far. */
  get count(): number {
    return this.produced;
  }

  /** The next `size` events (fewer at the end; empty when done). */
  next(size: number): TourEvent[] {
    const out: TourEvent[] = [];
    const rng = this.rng;
    while (out.length < size && this.produced < this.total) {
      const slot = Math.floor(rng() * RING);
      let story = this.ring[slot];
      if (story === undefined || story.at >= story.plan.length) {
        story = this.newStory();
        this.ring[slot] = story;
      }
      const type = story.plan[story.at++] as TourEvent['type'];
      const i = this.produced++;
      out.push({ id: `e${i}`, type, subjectId: story.subjectId, targetId: story.targetId, occurredAt: START + i * STEP_MS });
    }
    return out;
  }

  private newStory(): Story {
    const rng = this.rng;
    const plan: TourEvent['type'][] = [];
    const views = 1 + Math.floor(-Math.log(1 - rng()) * 1.2);
    for (let v = 0; v < views; v++) plan.push('tour_view');
    if (rng() < 0.3) {
      plan.push('tour_bookmark');
      if (rng() < 0.45) {
        plan.push('itinerary_add');
        if (rng() < 0.3) plan.push('inquiry');
      }
    }
    return { subjectId: `traveler-${Math.floor(rng() * this.travelers)}`, targetId: this.pickTour(), plan, at: 0 };
  }

  private pickTour(): string {
    const x = this.rng();
    const c = this.world.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((c[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return this.world.tours[lo] as string;
  }
}
