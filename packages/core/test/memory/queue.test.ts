import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/memory/index.js';
import { queueConformance } from '../../src/testing/index.js';

queueConformance('memory', async () => ({ queue: new MemoryQueue<unknown>() }));

describe('MemoryQueue specifics', () => {
  it('logs each failed attempt and the final give-up', async () => {
    const lines: Array<[string, string]> = [];
    const record = (level: string) => (message: string) => void lines.push([level, message]);
    const queue = new MemoryQueue<number>({ logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') } });
    queue.process(async () => {
      throw new Error('nope');
    }, { maxAttempts: 2, backoffMs: () => 1 });
    await queue.enqueue({ id: 'j', payload: 1 });
    await queue.drain();
    expect(lines.map(([level]) => level)).toEqual(['warn', 'error']);
    await queue.close();
  });

  it('rejects a second process() call and bad options', () => {
    const queue = new MemoryQueue<number>();
    expect(() => queue.process(async () => {}, { concurrency: 0 })).toThrow(RangeError);
    queue.process(async () => {});
    expect(() => queue.process(async () => {})).toThrow(/already called/);
  });

  it('runs an id again when it is enqueued while running', async () => {
    const queue = new MemoryQueue<number>();
    const seen: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    queue.process(async (job) => {
      seen.push(job.payload);
      if (job.payload === 1) await gate;
    });
    await queue.enqueue({ id: 'same', payload: 1 });
    await new Promise((r) => setTimeout(r, 5));
    await queue.enqueue({ id: 'same', payload: 2 });
    release();
    await queue.drain();
    expect(seen).toEqual([1, 2]);
  });
});
