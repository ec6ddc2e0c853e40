/**
 * Plain-text tables with aligned columns, for terminal summaries.
 * @module
 */

/** How a column is aligned: text left, numbers right. */
export type Align = 'left' | 'right';

/**
 * Formats rows under a header as aligned columns separated by two spaces, with a dashed rule
 * under the header. Returns the lines (no trailing spaces).
 * @example
 * formatTable(['owner', 'leads'], [['op-lisbon', '2']], ['left', 'right']);
 * // ['owner      leads', '---------  -----', 'op-lisbon      2']
 */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align: readonly Align[] = []): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - width(cell));
        return align[i] === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Display width of a string (code points; good enough for the ASCII and ✓/✗ used here). */
function width(text: string): number {
  return [...text].length;
}

/** A whole number with thousands separators: `12,345`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
