import { describe, expect, it } from 'vitest';
import { Shutdown } from './index.js';

const log = { info: () => undefined, error: () => undefined };

describe('Shutdown', () => {
  it('runs every step once, in order, even when one fails', async () => {
    const order: string[] = [];
    const s = new Shutdown(log)
      .add('http', () => order.push('http'))
      .add('workers', () => {
        order.push('workers');
        throw new Error('boom');
      })
      .add('pool', async () => order.push('pool'));
    await Promise.all([s.run('SIGTERM'), s.run('SIGINT')]);
    expect(order).toEqual(['http', 'workers', 'pool']);
  });

  it('gives up after the hard timeout', async () => {
    const s = new Shutdown(log, 50).add('stuck', () => new Promise(() => undefined));
    const t0 = Date.now();
    await s.run('test');
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
