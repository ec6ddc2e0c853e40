/**
 * Durations in configs are short strings: a number and a unit, e.g. `"90s"`, `"15m"`, `"1h"`,
 * `"7d"`, `"2w"` (also `"500ms"`). Months are not offered: their length varies.
 * @module
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The accepted form, as a regular expression (also used by the JSON Schema). */
export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** A duration string such as `"1h"` or `"7d"`. */
export type Duration = string;

/**
 * Parses a duration string into milliseconds. Returns `undefined` for anything else.
 * @example parseDuration('90m') // 5_400_000
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_RE.exec(text);
  if (!match) return undefined;
  const unit = match[2] as keyof typeof UNIT_MS;
  return Math.round(Number.parseFloat(text) * UNIT_MS[unit]);
}

/** Formats milliseconds as the largest exact unit (`3_600_000` → `"1h"`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0 && ms >= UNIT_MS[unit]) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
