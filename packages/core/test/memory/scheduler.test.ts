import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryScheduler, consoleLogger, silentLogger, systemClock } from '../../src/memory/index.js';
import { schedulerConformance } from '../../src/testing/index.js';

schedulerConformance('memory', async ({ clock }) => {
  const scheduler = new MemoryScheduler<unknown>({ clock });
  return {
    scheduler,
    advance: async (ms) => {
      clock.advance(ms);
      await scheduler.tick();
    },
  };
});

describe('MemoryScheduler specifics', () => {
  it('tick returns how many jobs ran, and runs nothing before start', async () => {
    const clock = new ManualClock(0);
    const scheduler = new MemoryScheduler<number>({ clock });
    await scheduler.schedule({ id: 'a', payload: 1 }, 10);
    await scheduler.schedule({ id: 'b', payload: 2 }, 10);
    clock.set(10);
    expect(await scheduler.tick()).toBe(0);
    scheduler.start(async () => {});
    expect(await scheduler.tick()).toBe(2);
    expect(await scheduler.tick()).toBe(0);
  });

  it('a repeating job that missed occurrences runs once, then continues after now', async () => {
    const clock = new ManualClock('2025-01-01T00:00:00Z');
    const scheduler = new MemoryScheduler<number>({ clock });
    const fired: number[] = [];
    scheduler.start(async (_job, firedAt) => void fired.push(firedAt));
    await scheduler.repeat({ id: 'h', payload: 1 }, '0 * * * *');
    clock.set('2025-01-01T05:30:00Z');
    expect(await scheduler.tick()).toBe(1);
    clock.set('2025-01-01T06:00:00Z');
    await scheduler.tick();
    expect(fired.map((t) => new Date(t).toISOString())).toEqual(['2025-01-01T01:00:00.000Z', '2025-01-01T06:00:00.000Z']);
  });

  it('accepts only 5-field cron expressions, with a ConfigError naming the field', async () => {
    const scheduler = new MemoryScheduler<number>({ clock: new ManualClock(0) });
    await expect(scheduler.repeat({ id: 'r', payload: 1 }, '0 0 9 * * *')).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: 'cron' }] });
    await expect(scheduler.repeat({ id: 'r', payload: 1 }, '0 9 * * *', { timeZone: 'Nowhere/Land' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      issues: [{ path: 'timeZone' }],
    });
  });

  it('a throwing handler is logged and does not stop other jobs', async () => {
    const clock = new ManualClock(0);
    const errors: string[] = [];
    const scheduler = new MemoryScheduler<number>({ clock, logger: { ...silentLogger, error: (m) => void errors.push(m) } });
    const ran: number[] = [];
    scheduler.start(async (job) => {
      if (job.payload === 1) throw new Error('boom');
      ran.push(job.payload);
    });
    await scheduler.schedule({ id: 'a', payload: 1 }, 0);
    await scheduler.schedule({ id: 'b', payload: 2 }, 0);
    expect(await scheduler.tick()).toBe(2);
    expect(ran).toEqual([2]);
    expect(errors).toEqual(['scheduled job failed']);
  });

  it('runs jobs on its own timer with the system clock', async () => {
    const scheduler = new MemoryScheduler<number>();
    const ran = new Promise<number>((resolve) => scheduler.start(async (_job, firedAt) => resolve(firedAt)));
    const runAt = systemClock.now() + 30;
    await scheduler.schedule({ id: 'soon', payload: 1 }, runAt);
    const firedAt = await ran;
    expect(firedAt).toBe(runAt);
    expect(Date.now()).toBeGreaterThanOrEqual(runAt);
    await scheduler.close();
  });

  it('waits for running handlers on close', async () => {
    const clock = new ManualClock(0);
    const scheduler = new MemoryScheduler<number>({ clock });
    let finished = false;
    scheduler.start(async () => {
      await new Promise((r) => setTimeout(r, 50));
      finished = true;
    });
    await scheduler.schedule({ id: 'a', payload: 1 }, 0);
    void scheduler.tick();
    await scheduler.close();
    expect(finished).toBe(true);
  });
});

describe('ManualClock', () => {
  it('starts, moves and jumps', () => {
    const clock = new ManualClock('2025-03-28T12:00:00Z');
    expect(clock.now()).toBe(Date.parse('2025-03-28T12:00:00Z'));
    expect(clock.advance(1000)).toBe(Date.parse('2025-03-28T12:00:01Z'));
    expect(clock.set(new Date(5))).toBe(5);
    expect(() => new ManualClock('not a date')).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });
});

describe('consoleLogger', () => {
  it('writes one JSON line per record at or above its level, keeping reserved keys', () => {
    const lines: string[] = [];
    const logger = consoleLogger('info', { write: (line) => lines.push(line), now: () => 0 });
    logger.debug('hidden');
    logger.warn('careful', { leadId: 'l-1', msg: 'spoof', error: new Error('x') });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] as string);
    expect(record).toMatchObject({ level: 'warn', time: '1970-01-01T00:00:00.000Z', msg: 'careful', leadId: 'l-1', error: { name: 'Error', message: 'x' } });
  });
});
