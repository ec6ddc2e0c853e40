/**
 * Local time in a configured time zone, fast: the UTC offset is looked up once per 15-minute
 * slot (every real-world offset change happens on a quarter hour) and cached, so scoring does
 * not call `Intl` per event. Local fields are then plain arithmetic on `t + offset`.
 * @module
 */
import { tzOffset } from '@date-fns/tz';
import type { Weekday, WeeklyWindow } from '../config/schema.js';
import { WEEKDAYS } from '../config/schema.js';

const SLOT_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const CACHE_LIMIT = 50_000;

/** Local-time helper for one IANA time zone. */
export class LocalTime {
  private readonly cache = new Map<number, number>();
  /**
   * The last bucket key made per bucket kind. Consecutive events mostly fall in the same bucket;
   * handing back the same string keeps one copy per bucket instead of one per lead (a lead's
   * signal state keeps its bucket key: ~32 bytes per signal per lead at 1M leads).
   */
  private readonly lastBucket = new Map<string, { n: number; key: string }>();
  constructor(readonly timeZone: string) {}

  /** The slot and offset of the last lookup: events mostly arrive in time order, so most lookups hit it. */
  private lastSlot = Number.NaN;
  private lastOffset = 0;

  /** UTC offset in milliseconds at instant `t`. */
  offset(t: number): number {
    const slot = Math.floor(t / SLOT_MS);
    // Scoring one event asks for the offset four or five times (hour, weekday, business hours,
    // cap bucket); answering repeats from two fields instead of the Map cut the event-facts
    // stage by about two thirds (perf-parts, 100k tour events).
    if (slot === this.lastSlot) return this.lastOffset;
    let offset = this.cache.get(slot);
    if (offset === undefined) {
      offset = this.timeZone === 'UTC' ? 0 : tzOffset(this.timeZone, new Date(t)) * 60_000;
      // Bounded: a long replay over years of data must not grow this without limit.
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(slot, offset);
    }
    this.lastSlot = slot;
    this.lastOffset = offset;
    return offset;
  }

  /** Wall-clock time at `t` as if it were UTC (so `getUTC*` give local fields). */
  local(t: number): number {
    return t + this.offset(t);
  }

  /** Local hour 0–23. */
  hour(t: number): number {
    return Math.floor(mod(this.local(t), DAY_MS) / 3_600_000);
  }

  /** Local minutes since midnight. */
  minuteOfDay(t: number): number {
    return Math.floor(mod(this.local(t), DAY_MS) / 60_000);
  }

  /** Local weekday name (`mon` … `sun`). */
  weekday(t: number): Weekday {
    // 1970-01-01 was a Thursday (index 3 with Monday = 0).
    const days = Math.floor(this.local(t) / DAY_MS);
    return WEEKDAYS[mod(days + 3, 7)] as Weekday;
  }

  /**
   * The calendar bucket containing `t`, as a short key: local hour, day, ISO week (Monday
   * start) or month; `lifetime` is one bucket for all time.
   */
  bucket(t: number, per: 'hour' | 'day' | 'week' | 'month' | 'lifetime'): string {
    if (per === 'lifetime') return 'all';
    const n = this.bucketNumber(this.local(t), per);
    const last = this.lastBucket.get(per);
    if (last !== undefined && last.n === n) return last.key;
    const key = `${per[0]}${n}`;
    this.lastBucket.set(per, { n, key });
    return key;
  }

  private bucketNumber(local: number, per: 'hour' | 'day' | 'week' | 'month'): number {
    switch (per) {
      case 'hour':
        return Math.floor(local / 3_600_000);
      case 'day':
        return Math.floor(local / DAY_MS);
      case 'week':
        return Math.floor((Math.floor(local / DAY_MS) + 3) / 7);
      case 'month': {
        const d = new Date(local);
        return d.getUTCFullYear() * 12 + d.getUTCMonth();
      }
    }
  }

  /** True when `t` falls inside any of the weekly windows (local time). */
  inWindows(t: number, windows: readonly WeeklyWindow[]): boolean {
    const local = this.local(t);
    const minute = Math.floor(mod(local, DAY_MS) / 60_000);
    const day = mod(Math.floor(local / DAY_MS) + 3, 7);
    const yesterday = mod(day - 1, 7);
    for (const window of windows) {
      const w = parsedWindow(window);
      if (w.start < w.end) {
        if (w.days[day] && minute >= w.start && minute < w.end) return true;
      } else if (w.start > w.end) {
        // Wraps past midnight: the evening part belongs to the listed day, the morning part to the day after.
        if (w.days[day] && minute >= w.start) return true;
        if (w.days[yesterday] && minute < w.end) return true;
      }
    }
    return false;
  }
}

/** A weekly window with its clock times in minutes and its days as flags by weekday index (Monday = 0). */
interface ParsedWindow {
  start: number;
  end: number;
  days: boolean[];
}

/**
 * Config windows parsed once: `inWindows` runs for every event (business hours) and parsing
 * "HH:MM" and searching the day list each time was most of its cost.
 */
const parsedWindows = new WeakMap<WeeklyWindow, ParsedWindow>();

function parsedWindow(w: WeeklyWindow): ParsedWindow {
  let parsed = parsedWindows.get(w);
  if (parsed === undefined) {
    parsed = { start: clockMinutes(w.start), end: clockMinutes(w.end), days: WEEKDAYS.map((d) => w.days.includes(d)) };
    parsedWindows.set(w, parsed);
  }
  return parsed;
}

/** "HH:MM" → minutes since midnight. */
export function clockMinutes(text: string): number {
  return Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
