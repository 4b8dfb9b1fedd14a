import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections for BullMQ. Workers need maxRetriesPerRequest = null
 * (they block); producers fail fast so a write path never hangs on Redis.
 */
export function createRedis(url: string, role: 'worker' | 'producer', opts: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 2,
    enableOfflineQueue: role === 'worker',
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
    ...opts,
  });
}
