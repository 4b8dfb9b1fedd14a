import { Coalescer, type Producer, type TypedJob, jobId } from '@vigie/queue';
import type { Logger } from '@vigie/logger';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ListenerMetrics } from './metrics.js';

export interface OutboxRow {
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
 * The jobs of a drained batch. Events for the evaluator are coalesced: one
 * `event.process` job per coalescing key (scope, else kind) that has no job
 * waiting yet — its handler reads every pending event of the key, so the
 * events without a job of their own are covered by it (see Coalescer). The
 * representative is the key's newest event of the batch. The smoke canary
 * and the notifier's jobs stay one per event.
 */
export async function batchJobs(rows: readonly OutboxRow[], coalescer: Coalescer): Promise<{ jobs: TypedJob[]; claimed: Set<string>; coalesced: number }> {
  const single: TypedJob[] = [];
  const newest = new Map<string, OutboxRow>();
  for (const r of rows) {
    const job = toJob(r);
    if (job.name !== 'event.process' || r.kind === 'canary.ping') {
      single.push(job);
      continue;
    }
    const key = Coalescer.key(r.kind, r.scope);
    const seen = newest.get(key);
    if (!seen || seen.id < r.id) newest.set(key, r);
  }
  const claimed = await coalescer.claim([...newest.keys()]);
  const jobs = [...single, ...[...claimed].map((k) => toJob(newest.get(k)!))];
  return { jobs, claimed, coalesced: rows.length - jobs.length };
}

/**
 * Moves outbox rows into BullMQ. Postgres is the source of truth: a row is
 * marked dispatched in the transaction that puts its job (or its key's
 * waiting job) in Redis, marked processed by the consumer once handled. Rows
 * dispatched but never processed (Redis wiped, job lost) are dispatched
 * again, one job per row; the same job id makes that harmless.
 */
export class OutboxDispatcher {
  private draining: Promise<number> | null = null;
  private again = false;
  private lastPassAt = Number.NEGATIVE_INFINITY;
  private readonly coalescer: Coalescer;

  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: Producer,
    private readonly redis: Redis,
    private readonly opts: {
      prefix: string;
      batchSize: number;
      redispatchAfterS: number;
      retentionDays: number;
      /**
       * Passes start at least this far apart (default 4 ms): an idle outbox is
       * drained at once, a busy one in batches (one pass per commit would cost
       * a transaction and a Redis round trip per business write).
       */
      lingerMs?: number;
    },
    private readonly log: Logger,
    private readonly metrics: ListenerMetrics,
  ) {
    this.coalescer = new Coalescer(redis, opts.prefix);
  }

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
          const wait = this.lastPassAt + (this.opts.lingerMs ?? 4) - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          this.lastPassAt = performance.now();
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
    let claimed = new Set<string>();
    try {
      await client.query('begin');
      // Taken and marked in one statement; the commit below comes after Redis has the jobs.
      const { rows } = await client.query<OutboxRow>(
        `update vigie.outbox o set dispatched_at = clock_timestamp(), dispatch_count = o.dispatch_count + 1
          where o.id in (select id from vigie.outbox where dispatched_at is null order by id limit $1 for update skip locked)
          returning o.id, o.kind, o.entity_id, o.scope, o.payload`,
        [this.opts.batchSize],
      );
      if (rows.length === 0) {
        await client.query('commit');
        return 0;
      }
      const batch = await batchJobs(rows, this.coalescer);
      claimed = batch.claimed;
      await this.producer.addBulk(batch.jobs);
      await client.query('commit');
      for (const r of rows) this.metrics.dispatched.inc({ kind: r.kind });
      if (batch.coalesced) this.metrics.coalesced.inc(batch.coalesced);
      return rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      // The keys claimed for jobs that never made it must not hold back the next drain.
      await this.coalescer.unclaim(claimed).catch(() => undefined);
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
      // A job BullMQ remembers as finished (failed after its attempts) would swallow a plain add.
      const n = await this.producer.requeue(rows.map(toJob));
      await this.pool.query('update vigie.outbox set dispatch_count = dispatch_count + 1 where id = any($1::bigint[])', [rows.map((r) => r.id)]);
      total += n;
      after = rows[rows.length - 1]!.id;
      this.metrics.redispatched.inc(n);
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
