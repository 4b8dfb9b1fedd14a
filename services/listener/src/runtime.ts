import type { Logger } from '@vigie/logger';
import { type Producer, QUEUES } from '@vigie/queue';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { OutboxDispatcher } from './dispatcher.js';
import { Leadership } from './leader.js';
import type { ListenerMetrics } from './metrics.js';
import { Wakeup } from './wakeup.js';

export interface ListenerRuntimeOptions {
  listenUrl: string;
  prefix: string;
  pollIntervalMs: number;
  redispatchAfterS: number;
  retentionDays: number;
  batchSize?: number;
}

/**
 * The listener's moving parts: leadership, the LISTEN wake-up, and the
 * outbox drain on every notification, on (re)connect and on a slow poll.
 */
export class ListenerRuntime {
  readonly dispatcher: OutboxDispatcher;
  readonly leadership: Leadership;
  readonly wakeup: Wakeup;
  private poll: NodeJS.Timeout | null = null;
  private ticks = 0;
  private lastError: string | null = null;

  constructor(
    private readonly pool: pg.Pool,
    redis: Redis,
    private readonly producer: Producer,
    private readonly opts: ListenerRuntimeOptions,
    private readonly log: Logger,
    private readonly metrics: ListenerMetrics,
  ) {
    this.dispatcher = new OutboxDispatcher(
      pool,
      producer,
      redis,
      { prefix: opts.prefix, batchSize: opts.batchSize ?? 500, redispatchAfterS: opts.redispatchAfterS, retentionDays: opts.retentionDays },
      log,
      metrics,
    );
    this.leadership = new Leadership(opts.listenUrl, log, (leader) => {
      metrics.leader.set(leader ? 1 : 0);
      if (leader) void this.catchUp();
    });
    this.wakeup = new Wakeup(opts.listenUrl, log, () => {
      if (this.leadership.leader) this.safeDrain();
    });
  }

  get isLeader(): boolean {
    return this.leadership.leader;
  }

  get error(): string | null {
    return this.lastError;
  }

  async start(): Promise<void> {
    this.leadership.start();
    await this.wakeup.start();
    this.poll = setInterval(() => void this.tick(), this.opts.pollIntervalMs);
    this.poll.unref();
  }

  private safeDrain(): void {
    this.dispatcher.drain().then(
      () => {
        this.lastError = null;
      },
      (err: unknown) => {
        this.lastError = err instanceof Error ? err.message : String(err);
        this.log.warn({ err }, 'vidage de la boîte d’envoi impossible pour le moment');
      },
    );
  }

  /** On becoming active: replay what Redis may have lost, then drain. */
  private async catchUp(): Promise<void> {
    try {
      await this.dispatcher.checkRedisEpoch();
      await this.dispatcher.redispatch();
    } catch (err) {
      this.log.warn({ err }, 'rattrapage impossible pour le moment');
    }
    this.safeDrain();
  }

  private async tick(): Promise<void> {
    this.ticks++;
    try {
      const lag = await this.dispatcher.lagSeconds();
      this.metrics.lag.set(lag);
      if (!this.leadership.leader) return;
      await this.dispatcher.checkRedisEpoch();
      this.safeDrain();
      const every = (ms: number) => this.ticks % Math.max(1, Math.round(ms / this.opts.pollIntervalMs)) === 0;
      if (every(15_000)) {
        await this.dispatcher.redispatch();
        for (const q of Object.values(QUEUES)) {
          const d = await this.producer.depth(q);
          for (const state of ['waiting', 'active', 'delayed'] as const) this.metrics.queueDepth.set({ queue: q, state }, d[state]);
          this.metrics.queueOldestWaiting.set({ queue: q }, (d.oldestWaitingMs ?? 0) / 1000);
        }
        const { rows } = await this.pool.query<{ n: number }>('select count(*)::int as n from vigie.trigger_failures where acknowledged_at is null');
        this.metrics.triggerFailures.set(rows[0]?.n ?? 0);
      }
      if (every(3_600_000)) {
        const pruned = await this.dispatcher.prune();
        if (pruned) this.log.info({ pruned }, 'événements traités purgés');
      }
      this.lastError = null;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.warn({ err }, 'tour de surveillance de la boîte d’envoi en échec');
    }
  }

  async stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    await this.wakeup.stop();
    await this.leadership.stop();
  }
}
