import { describe, expect, it } from 'vitest';
import { type Clock, createPacer } from './pacing.js';

/** A clock that moves only when told, recording how long each caller was made to wait. */
function fakeClock(): Clock & { waits: number[]; at: number } {
  const clock = {
    at: 0,
    waits: [] as number[],
    now: () => clock.at,
    sleep: async (ms: number) => clock.waits.push(ms),
  };
  return clock;
}

describe('per-channel pacing', () => {
  it('lets one message per second through per channel, queueing the rest in order', async () => {
    const clock = fakeClock();
    const pacer = createPacer({ intervalMs: 1_000, burst: 1 }, clock);
    await Promise.all([pacer.take('C-OPS'), pacer.take('C-OPS'), pacer.take('C-OPS'), pacer.take('C-SEC')]);
    // The first message to each channel goes at once; the next ones wait 1 s, then 2 s.
    expect(clock.waits).toEqual([1_000, 2_000]);
  });

  it('refills while the channel is quiet, up to the burst', async () => {
    const clock = fakeClock();
    const pacer = createPacer({ intervalMs: 1_000, burst: 2 }, clock);
    await pacer.take('C');
    await pacer.take('C');
    await pacer.take('C');
    expect(clock.waits).toEqual([1_000]);
    clock.at = 10_000;
    await pacer.take('C');
    await pacer.take('C');
    await pacer.take('C');
    expect(clock.waits).toEqual([1_000, 1_000]);
  });

  it('does nothing when disabled', async () => {
    const clock = fakeClock();
    const pacer = createPacer({ intervalMs: 0 }, clock);
    await Promise.all([pacer.take('C'), pacer.take('C')]);
    expect(clock.waits).toEqual([]);
  });
});
