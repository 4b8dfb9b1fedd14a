import type { Redis } from 'ioredis';
import { QUEUES } from './catalogue.js';

/**
 * Coalescing of outbox events into `event.process` jobs: at most one waiting
 * job per coalescing key (an evaluation scope such as `citerne:<id>`, or
 * `kind:<kind>` for events without a scope). The handler reads every pending
 * event of its key from Postgres, so one job covers all the events that
 * arrived while it waited.
 *
 * Protocol (Redis holds a marker per key while a job of that key is waiting):
 *   producer: `claim(keys)` (SET NX with a TTL) and add a job only for the
 *             keys it claimed; `unclaim(keys)` when the add failed;
 *   consumer: `release(key)` once it holds the key's lock and before it reads
 *             the pending events: an event committed before the release is
 *             read by this job, one drained after it gets a job of its own.
 * The TTL only bounds a marker whose job vanished (it then costs a duplicate
 * job, never a lost event); Postgres stays the source of truth, and rows
 * dispatched but never processed are dispatched again one by one.
 */
export class Coalescer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 10_000,
  ) {}

  /** The coalescing key of an event: its scope, else its kind. */
  static key(kind: string, scope: string | null): string {
    return scope ?? `kind:${kind}`;
  }

  private redisKey(key: string): string {
    return `${this.prefix}:${QUEUES.events}:pending:${key}`;
  }

  /** Claims the keys that have no waiting job; returns those claimed. */
  async claim(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const pipe = this.redis.pipeline();
    for (const k of keys) pipe.set(this.redisKey(k), '1', 'PX', this.ttlMs, 'NX');
    const res = (await pipe.exec()) ?? [];
    const claimed = new Set<string>();
    res.forEach(([err, v], i) => {
      if (err) throw err;
      if (v === 'OK') claimed.add(keys[i]!);
    });
    return claimed;
  }

  async unclaim(keys: Iterable<string>): Promise<void> {
    const list = [...keys].map((k) => this.redisKey(k));
    if (list.length) await this.redis.del(...list);
  }

  /** The key's next event will need a job of its own again. */
  async release(key: string): Promise<void> {
    await this.redis.del(this.redisKey(key));
  }
}
