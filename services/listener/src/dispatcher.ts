import { type Producer, type TypedJob, jobId } from '@vigie/queue';
import type { Logger } from '@vigie/logger';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ListenerMetrics } from './metrics.js';

interface OutboxRow {
  id: number;
  kind: string;
  entity_id: string;
  scope: string | null;
  payload: { transition_id?: number };
}

/** The job an outbox event becomes. Ids only; the job id makes re-adds idempotent. */
export function toJob(row: OutboxRow): TypedJob {
  if (row.kind === 'alert.transition' && typeof row.payload.transition_id === 'number') {
    return {
      name: 'notify.transition',
      data: { transitionId: row.payload.transition_id, eventId: row.id },
      opts: { jobId: jobId('tr', row.payload.transition_id) },
    };
  }
  if (row.kind === 'canary.notify') {
    return { name: 'notify.canary', data: { canaryId: row.entity_id, eventId: row.id }, opts: { jobId: jobId('canary', row.id) } };
  }
  return { name: 'event.process', data: { eventId: row.id, kind: row.kind, scope: row.scope }, opts: { jobId: jobId('evt', row.id) } };
}

/**
 * Moves outbox rows into BullMQ. Postgres is the source of truth: a row is
 * marked dispatched only after its job is in Redis, marked processed by the
 * consumer once handled. Rows dispatched but never processed (Redis wiped,
 * job lost) are dispatched again; the same job id makes that harmless.
 */
export class OutboxDispatcher {
  private draining: Promise<number> | null = null;
  private again = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: Producer,
    private readonly redis: Redis,
    private readonly opts: { prefix: string; batchSize: number; redispatchAfterS: number; retentionDays: number },
    private readonly log: Logger,
    private readonly metrics: ListenerMetrics,
  ) {}

  /** Drains until the outbox is empty. Concurrent calls coalesce into one extra pass. */
  drain(): Promise<number> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      let total = 0;
      try {
        do {
          this.again = false;
          for (;;) {
            const n = await this.drainBatch();
            total += n;
            if (n < this.opts.batchSize) break;
          }
        } while (this.again);
      } finally {
        this.draining = null;
      }
      return total;
    })();
    return this.draining;
  }

  private async drainBatch(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<OutboxRow>(
        `select id, kind, entity_id, scope, payload from vigie.outbox
          where dispatched_at is null order by id limit $1 for update skip locked`,
        [this.opts.batchSize],
      );
      if (rows.length === 0) {
        await client.query('commit');
        return 0;
      }
      await this.producer.addBulk(rows.map(toJob));
      await client.query(
        'update vigie.outbox set dispatched_at = clock_timestamp(), dispatch_count = dispatch_count + 1 where id = any($1::bigint[])',
        [rows.map((r) => r.id)],
      );
      await client.query('commit');
      for (const r of rows) this.metrics.dispatched.inc({ kind: r.kind });
      return rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Redis keeps a marker of the outbox generation it holds. When it is gone
   * (restart without persistence, FLUSHALL), every dispatched-but-unprocessed
   * row is dispatched again at once.
   */
  async checkRedisEpoch(): Promise<boolean> {
    const key = `${this.opts.prefix}:outbox-epoch`;
    const epoch = await this.redis.get(key);
    if (epoch) return false;
    const created = await this.redis.set(key, new Date().toISOString(), 'NX');
    if (created !== 'OK') return false;
    const n = await this.redispatch(0);
    if (n > 0) this.log.warn({ replayed: n }, 'Redis a perdu ses données : événements non traités rejoués depuis la boîte d’envoi');
    return true;
  }

  /** Dispatches again rows dispatched more than `olderThanS` seconds ago and still unprocessed. */
  async redispatch(olderThanS = this.opts.redispatchAfterS): Promise<number> {
    let total = 0;
    let after = 0;
    for (;;) {
      const { rows } = await this.pool.query<OutboxRow>(
        `select id, kind, entity_id, scope, payload from vigie.outbox
          where processed_at is null and dispatched_at is not null
            and dispatched_at < clock_timestamp() - make_interval(secs => $1) and id > $2
          order by id limit $3`,
        [olderThanS, after, this.opts.batchSize],
      );
      if (rows.length === 0) break;
      await this.producer.addBulk(rows.map(toJob));
      await this.pool.query('update vigie.outbox set dispatch_count = dispatch_count + 1 where id = any($1::bigint[])', [rows.map((r) => r.id)]);
      total += rows.length;
      after = rows[rows.length - 1]!.id;
      this.metrics.redispatched.inc(rows.length);
    }
    return total;
  }

  /** Deletes processed rows older than the retention period. */
  async prune(): Promise<number> {
    const res = await this.pool.query(
      `delete from vigie.outbox where id in (
         select id from vigie.outbox where processed_at < now() - make_interval(days => $1) limit 10000)`,
      [this.opts.retentionDays],
    );
    return res.rowCount ?? 0;
  }

  /** Seconds since the oldest undispatched event was captured (0 when none). */
  async lagSeconds(): Promise<number> {
    const { rows } = await this.pool.query<{ lag: number | null }>(
      'select extract(epoch from clock_timestamp() - min(created_at))::float8 as lag from vigie.outbox where dispatched_at is null',
    );
    return rows[0]?.lag ?? 0;
  }
}
