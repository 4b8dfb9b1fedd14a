import { z } from 'zod';

/**
 * The job catalogue: every job Vigie enqueues, its payload schema and its
 * retry policy. Payloads carry ids, never secrets or whole rows: the handler
 * reads current state from Postgres, so a replayed job is harmless.
 */
export const QUEUES = {
  /** Outbox events → evaluator (integrity + security rules). */
  events: 'events',
  /** Delayed deadline checks and the periodic sweep → evaluator. */
  timers: 'timers',
  /** Alert transitions, reminders and digests → notifier. */
  notify: 'notify',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const uuidOrText = z.string().min(1).max(200);

export const jobs = {
  /** One outbox event. jobId = `evt-<outbox id>`. */
  'event.process': {
    queue: QUEUES.events,
    schema: z.object({ eventId: z.number().int().positive(), kind: z.string().min(1).max(60), scope: z.string().max(200).nullable() }),
    attempts: 8,
    backoffMs: 500,
  },
  /** A deadline rule's check at its deadline. jobId = `deadline-<code>-<entity>-<epoch>`. */
  'deadline.check': {
    queue: QUEUES.timers,
    schema: z.object({ checkCode: z.string().min(1).max(60), entityType: z.string().min(1).max(60), entityId: uuidOrText, dueAt: z.string() }),
    attempts: 8,
    backoffMs: 1_000,
  },
  /** The periodic full sweep (one run at a time across replicas). */
  'sweep.run': {
    queue: QUEUES.timers,
    schema: z.object({ reason: z.enum(['schedule', 'manual', 'startup']) }),
    attempts: 3,
    backoffMs: 5_000,
  },
  /** One alert transition to route and deliver. jobId = `tr-<transition id>`. */
  'notify.transition': {
    queue: QUEUES.notify,
    schema: z.object({ transitionId: z.number().int().positive(), eventId: z.number().int().positive().optional() }),
    attempts: 12,
    backoffMs: 1_000,
  },
  /** Flush of a storm group (vigie.notify_groups) at the end of its window. groupKey = the group id; jobId = `grp-<group id>`. */
  'notify.group': {
    queue: QUEUES.notify,
    schema: z.object({ groupKey: z.string().min(1).max(200) }),
    attempts: 12,
    backoffMs: 1_000,
  },
  /** The notifier's periodic tick (job scheduler `notify-tick`): reminders, due digests, overdue groups, lost jobs. */
  'notify.tick': {
    queue: QUEUES.notify,
    schema: z.object({ reason: z.enum(['schedule', 'manual']) }),
    attempts: 3,
    backoffMs: 5_000,
  },
  /** The /smoke canary's last stage: delivered to a null sink, never to people. */
  'notify.canary': {
    queue: QUEUES.notify,
    schema: z.object({ canaryId: z.string().uuid(), eventId: z.number().int().positive() }),
    attempts: 3,
    backoffMs: 200,
  },
  /**
   * A digest for one period. periodKey: `2026-11-23` (daily) or `W2026-11-23` (weekly), the local date the
   * period ends on; any other key is a manual digest up to now. jobId = `digest-<kind>-<period key>`.
   */
  'notify.digest': {
    queue: QUEUES.notify,
    schema: z.object({ period: z.enum(['daily', 'weekly']), periodKey: z.string().min(1).max(40), force: z.boolean().default(false) }),
    attempts: 12,
    backoffMs: 5_000,
  },
} as const;

export type JobName = keyof typeof jobs;
export type JobPayload<N extends JobName> = z.infer<(typeof jobs)[N]['schema']>;

/** A payload that can never succeed: the job fails at once, without retry. */
export class InvalidJobPayloadError extends Error {
  readonly code = 'VIGIE_JOB_PAYLOAD_INVALID';
  constructor(
    readonly job: string,
    detail: string,
  ) {
    super(`charge utile invalide pour ${job} : ${detail}`);
    this.name = 'InvalidJobPayloadError';
  }
}

export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const res = jobs[name].schema.safeParse(data);
  if (!res.success) throw new InvalidJobPayloadError(name, res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return res.data as JobPayload<N>;
}
