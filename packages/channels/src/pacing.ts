import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Keeps each Slack channel at about one message per second (Slack's own limit for
 * chat.postMessage) within this process: a token bucket per channel, where a caller
 * that finds the bucket empty reserves the next slot and waits for it. Cross-replica
 * bursts are still possible; the 429 mapping covers those.
 */

export interface PacingOptions {
  /** Time between two messages to the same channel once the burst is spent. 0 disables pacing. */
  intervalMs?: number;
  /** Messages a quiet channel may take at once. */
  burst?: number;
}

export interface Pacer {
  /** Resolves when a message may be sent to `key`. */
  take(key: string): Promise<void>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<unknown>;
}

const systemClock: Clock = { now: Date.now, sleep };

export function createPacer({ intervalMs = 1_000, burst = 1 }: PacingOptions = {}, clock: Clock = systemClock): Pacer {
  // Tokens go negative: each waiting caller holds a reserved future slot.
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    async take(key) {
      if (intervalMs <= 0) return;
      const now = clock.now();
      const bucket = buckets.get(key) ?? { tokens: burst, at: now };
      const tokens = Math.min(burst, bucket.tokens + (now - bucket.at) / intervalMs) - 1;
      buckets.set(key, { tokens, at: now });
      if (tokens < 0) await clock.sleep(-tokens * intervalMs);
    },
  };
}
