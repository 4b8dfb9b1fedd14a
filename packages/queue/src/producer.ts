import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobName, type JobPayload, type QueueName, jobs, parsePayload } from './catalogue.js';

export interface TypedJob<N extends JobName = JobName> {
  name: N;
  data: JobPayload<N>;
  opts?: JobsOptions & { jobId?: string };
}

/** Job ids may not contain ':' in BullMQ; keep them readable and deterministic. */
export function jobId(...parts: Array<string | number>): string {
  return parts.map((p) => String(p).replace(/[:\s]/g, '_')).join('-');
}

export function defaultJobOptions(name: JobName): JobsOptions {
  const spec = jobs[name];
  return {
    attempts: spec.attempts,
    backoff: { type: 'exponential', delay: spec.backoffMs },
    // Keep finished job ids for a while so a re-added id is deduplicated by BullMQ.
    removeOnComplete: { age: 3_600, count: 20_000 },
    removeOnFail: { age: 7 * 24 * 3_600 },
  };
}

/** A producer for the typed catalogue: validates before enqueueing. */
export class Producer {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  async add<N extends JobName>(name: N, data: JobPayload<N>, opts: JobsOptions = {}): Promise<void> {
    const payload = parsePayload(name, data);
    await this.queue(jobs[name].queue).add(name, payload, { ...defaultJobOptions(name), ...opts });
  }

  /** Enqueues many jobs; all jobs of one call go to their queues in bulk. */
  async addBulk(list: ReadonlyArray<TypedJob>): Promise<void> {
    const byQueue = new Map<QueueName, Array<{ name: string; data: unknown; opts: JobsOptions }>>();
    for (const j of list) {
      const payload = parsePayload(j.name, j.data);
      const q = jobs[j.name].queue;
      const arr = byQueue.get(q) ?? [];
      arr.push({ name: j.name, data: payload, opts: { ...defaultJobOptions(j.name), ...j.opts } });
      byQueue.set(q, arr);
    }
    await Promise.all([...byQueue].map(([q, arr]) => this.queue(q).addBulk(arr)));
  }

  /**
   * Enqueues jobs that may have run before under the same id. BullMQ ignores
   * an add whose id it still remembers, finished jobs included (a failed job
   * is kept 7 days): such a job — failed after its attempts, say while
   * PostgreSQL was down, or completed without its work done — is removed
   * first so the add takes. Jobs still waiting, delayed or running are left
   * alone. Returns how many jobs were enqueued.
   */
  async requeue(list: ReadonlyArray<TypedJob>): Promise<number> {
    // Looked up concurrently: the commands share the connection's pipeline.
    const keep = await Promise.all(
      list.map(async (j) => {
        const id = j.opts?.jobId;
        const existing = id ? await this.queue(jobs[j.name].queue).getJob(id) : undefined;
        if (!existing) return true;
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed') return false;
        return existing.remove().then(
          () => true,
          () => false,
        );
      }),
    );
    const fresh = list.filter((_, i) => keep[i]);
    if (fresh.length) await this.addBulk(fresh);
    return fresh.length;
  }

  /** Waiting + delayed + active counts, and the age of the oldest waiting job. */
  async depth(name: QueueName): Promise<{ waiting: number; active: number; delayed: number; oldestWaitingMs: number | null }> {
    const q = this.queue(name);
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    const oldest = await q.getJobs(['waiting', 'prioritized'], 0, 0, true);
    const ts = oldest[0]?.timestamp;
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      oldestWaitingMs: ts ? Date.now() - ts : null,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
