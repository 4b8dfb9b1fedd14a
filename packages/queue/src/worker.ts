import { type Job, type Processor, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { InvalidJobPayloadError, type JobName, type JobPayload, type QueueName, jobs, parsePayload } from './catalogue.js';

export type Handlers = { [N in JobName]?: (data: JobPayload<N>, job: Job) => Promise<unknown> };

/** Raised by handlers for failures that retrying cannot fix. */
export class PermanentJobError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'PermanentJobError';
  }
}

/**
 * A worker over one queue that dispatches by job name to typed handlers.
 * It starts paused: the service resumes it once its readiness checks pass.
 * Bad payloads and PermanentJobError fail at once (no retry).
 */
export function createWorker(
  queue: QueueName,
  handlers: Handlers,
  connection: Redis,
  opts: { prefix: string; concurrency: number } & Partial<WorkerOptions>,
): Worker {
  const processor: Processor = async (job) => {
    const name = job.name as JobName;
    const handler = handlers[name] as ((d: unknown, j: Job) => Promise<unknown>) | undefined;
    if (!handler || jobs[name]?.queue !== queue) throw new UnrecoverableError(`aucun gestionnaire pour ${job.name} sur ${queue}`);
    try {
      return await handler(parsePayload(name, job.data), job);
    } catch (err) {
      if (err instanceof InvalidJobPayloadError || err instanceof PermanentJobError) throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    }
  };
  const { prefix, concurrency, ...rest } = opts;
  return new Worker(queue, processor, { connection, prefix, concurrency, autorun: false, ...rest });
}
