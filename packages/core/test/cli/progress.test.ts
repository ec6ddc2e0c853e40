import { describe, expect, it } from 'vitest';
import { ProgressBar, formatEta } from '../../src/cli/progress.js';
import { formatTable } from '../../src/cli/table.js';
import { capList } from '../../src/cli/events.js';
import { osReason } from '../../src/cli/errors.js';
import { sink } from './helpers.js';

describe('ProgressBar', () => {
  it('redraws at most once per interval, always draws completion, and clears itself', () => {
    const out = sink({ columns: 100 });
    let t = 0;
    const bar = new ProgressBar(out, 1000, () => t);
    for (let done = 10; done <= 1000; done += 10) {
      t += 10; // 100 updates over one second
      bar.update(done);
    }
    // One draw per 100 ms at most (~10 a second), plus the final 100 %.
    expect(bar.draws).toBeGreaterThanOrEqual(10);
    expect(bar.draws).toBeLessThanOrEqual(11);
    expect(out.text.endsWith('100%  1,000/1,000 events  1,000/s  ETA 0:00')).toBe(true);
    bar.finish();
    expect(out.text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('renders percent, rate and ETA', () => {
    const t = 0;
    const bar = new ProgressBar(sink({ columns: 100 }), 30_000, () => t);
    expect(bar.render(12_000, 2000)).toBe('[████████████░░░░░░░░░░░░░░░░░░]   40%  12,000/30,000 events  6,000/s  ETA 0:03');
    expect(bar.render(0, 0)).toContain('ETA --:--');
    // A narrow terminal drops the bar and keeps the numbers.
    expect(new ProgressBar(sink({ columns: 40 }), 10, () => 0).render(5, 1000)).toBe(' 50%  5/10 events  5/s  ETA 0:01');
  });

  it('does not clear what it never drew', () => {
    const out = sink();
    new ProgressBar(out, 10, () => 0).finish();
    expect(out.text).toBe('');
  });

  it('formats ETAs', () => {
    expect(formatEta(0)).toBe('0:00');
    expect(formatEta(61.2)).toBe('1:02');
    expect(formatEta(3725)).toBe('1:02:05');
  });
});

describe('helpers', () => {
  it('aligns table columns', () => {
    expect(formatTable(['owner', 'leads'], [['op-lisbon', '2'], ['x', '10']], ['left', 'right'])).toEqual([
      'owner      leads',
      '---------  -----',
      'op-lisbon      2',
      'x             10',
    ]);
  });

  it('caps long problem lists', () => {
    expect(capList(['a', 'b', 'c'], 2)).toEqual(['a', 'b', '... and 1 more']);
    expect(capList(['a', 'b'], 2)).toEqual(['a', 'b']);
  });

  it('turns Node file errors into the OS reason', () => {
    const error = Object.assign(new Error("EACCES: permission denied, open '/etc/x'"), { code: 'EACCES' });
    expect(osReason(error)).toBe('permission denied (EACCES)');
    expect(osReason(Object.assign(new Error('EISDIR: illegal operation on a directory, read'), { code: 'EISDIR' }))).toBe('illegal operation on a directory (EISDIR)');
  });
});
