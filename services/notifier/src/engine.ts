import type { Logger } from '@vigie/logger';
import { type Handlers, type JobPayload, type Producer, jobId } from '@vigie/queue';
import { DelayedError, type Job } from 'bullmq';
import type { NotifierCore } from './core.js';
import { deliverAlert, deliverDigestRows, deliverGroup } from './delivery.js';
import { periodEnd, runDigest, settleDigest } from './digest.js';
import { finalizeTransitions, recentPermanentFailures } from './ledger.js';
import { type PlanResult, planAlert } from './planner.js';
import { runReminders } from './reminders.js';
import { dueDigests } from './schedule.js';
import { flushGroup } from './storm.js';

/**
 * The notifier's jobs (queue `notify`):
 *   notify.transition — plan the transition (and any earlier unplanned one of
 *     the same alert), send its deliveries, then mark its outbox event
 *     processed; while something is left to retry, the job waits in BullMQ's
 *     delayed set until the earliest retry time (Retry-After included) —
 *     the queue owns retries, not the Slack client;
 *   notify.group — flush a storm group at the end of its window;
 *   notify.digest — one digest period, exactly once;
 *   notify.tick — the safety net and the clock: overdue groups, reminders,
 *     due digests, transitions and deliveries whose job was lost;
 *   notify.canary — the /smoke canary's last stage (stamped, sent to no one).
 */

const MIN_DELAY_MS = 200;
/** Digests are caught up within this long after their hour (a notifier down at 07:00 sends at restart). */
const DIGEST_GRACE_MS = 6 * 3_600_000;

export class NotifierEngine {
  constructor(
    private readonly core: NotifierCore,
    private readonly producer: Producer,
    private readonly log: Logger,
  ) {}

  handlers(): Handlers {
    return {
      'notify.transition': (d, job) => this.onTransition(d, job),
      'notify.group': (d, job) => this.onGroup(d, job),
      'notify.digest': (d, job) => this.onDigest(d, job),
      'notify.tick': () => this.tick(),
      'notify.canary': (d) => this.onCanary(d),
    };
  }

  /** The /smoke canary's last stage: stamped, never delivered to anyone. */
  async onCanary({ canaryId, eventId }: JobPayload<'notify.canary'>): Promise<{ status: string }> {
    const client = await this.core.pool.connect();
    try {
      await client.query('begin');
      await client.query('update vigie.canaries set notified_at = coalesce(notified_at, clock_timestamp()) where id = $1', [canaryId]);
      await client.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1 and processed_at is null', [eventId]);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return { status: 'done' };
  }

  /** Puts the job back in the delayed set until `at`; BullMQ does not count it as a failed attempt. */
  private async later(job: Job, at: Date): Promise<never> {
    await job.moveToDelayed(Math.max(at.getTime(), Date.now() + MIN_DELAY_MS), job.token);
    throw new DelayedError();
  }

  async onTransition({ transitionId, eventId }: JobPayload<'notify.transition'>, job: Job): Promise<{ status: string }> {
    const log = this.log.child({ jobId: job.id, transitionId, ...(eventId ? { eventId } : {}) });
    const { pool } = this.core;
    const { rows } = await pool.query<{ alert_id: string }>('select alert_id from vigie.alert_transitions where id = $1', [transitionId]);
    const alertId = rows[0]?.alert_id;
    if (!alertId) {
      log.warn('transition introuvable : événement marqué traité');
      if (eventId) await pool.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1 and processed_at is null', [eventId]);
      return { status: 'missing' };
    }
    const plan = await planAlert(this.core, alertId, transitionId);
    await this.schedule(plan);
    for (const p of plan.planned) log.debug({ alertId, planned: p.transitionId, decision: p.decision }, 'transition planifiée');
    await this.flushOverdueGroups(alertId);
    const sent = await deliverAlert(this.core, alertId);
    const { rows: pend } = await pool.query<{ at: Date | null }>(
      "select min(next_attempt_at) as at from vigie.deliveries where transition_id = $1 and status = 'pending'",
      [transitionId],
    );
    const pendingAt = pend[0]?.at ?? null;
    if (!pendingAt) {
      const client = await pool.connect();
      try {
        await finalizeTransitions(client, [transitionId]);
        if (eventId) await client.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1', [eventId]);
      } finally {
        client.release();
      }
      return { status: 'done' };
    }
    const at = sent.retryAt && sent.retryAt > pendingAt ? sent.retryAt : pendingAt;
    log.debug({ alertId, retryAt: at.toISOString() }, 'envois en attente : nouvel essai plus tard');
    return this.later(job, at);
  }

  /** The group jobs a plan asks for: storm windows' flushes and grouped messages' updates. */
  private async schedule(plan: PlanResult): Promise<void> {
    for (const f of plan.flushes) await this.core.scheduleFlush(f.groupId, f.at);
    for (const r of plan.refreshes) await this.core.scheduleFlush(r.groupId, r.at, r.tag);
  }

  /** Storm groups holding this alert's messages whose window is over but which were not flushed (lost job). */
  private async flushOverdueGroups(alertId: string): Promise<void> {
    const { rows } = await this.core.pool.query<{ id: number }>(
      `select distinct g.id from vigie.deliveries d join vigie.notify_groups g on g.id = d.group_id
        where d.alert_id = $1 and d.status = 'pending' and g.status = 'open' and g.window_ends_at <= clock_timestamp()`,
      [alertId],
    );
    for (const g of rows) await flushGroup(this.core, g.id);
  }

  async onGroup({ groupKey }: JobPayload<'notify.group'>, job: Job): Promise<{ status: string }> {
    const groupId = Number(groupKey);
    if (!Number.isSafeInteger(groupId)) return { status: 'invalid' };
    const r = await flushGroup(this.core, groupId);
    if (r.notYet) return this.later(job, r.notYet);
    if (r.retryAt) return this.later(job, r.retryAt);
    return { status: 'flushed' };
  }

  async onDigest({ period, periodKey, force }: JobPayload<'notify.digest'>, job: Job): Promise<{ status: string }> {
    const scheduled = /^W?\d{4}-\d{2}-\d{2}$/.test(periodKey);
    const to = scheduled ? periodEnd(periodKey, this.core) : new Date();
    const r = await runDigest(this.core, { period, periodKey, trigger: force || !scheduled ? 'manual' : 'schedule', to });
    if (r.status === 'pending') return this.later(job, r.retryAt ?? new Date(Date.now() + 5_000));
    this.log.info({ period, periodKey, status: r.status, recipients: r.recipients.length }, 'synthèse traitée');
    return { status: r.status };
  }

  /**
   * The periodic tick (one at a time across replicas, by advisory lock):
   * everything here is also done by the jobs; the tick only makes sure a lost
   * job (Redis wiped, attempts exhausted) delays but never loses a message.
   */
  async tick(): Promise<{ status: string }> {
    const { pool, opts } = this.core;
    const lock = await pool.connect();
    try {
      const { rows } = await lock.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext('vigie:notifier:tick')) as ok");
      if (!rows[0]?.ok) return { status: 'busy' };
      try {
        // 1. Storm groups past their window.
        const groups = await pool.query<{ id: number }>(
          "select id from vigie.notify_groups where status = 'open' and window_ends_at <= clock_timestamp() - interval '1 second' order by id limit 50",
        );
        for (const g of groups.rows) await flushGroup(this.core, g.id);

        // 2. Reminders.
        await runReminders(this.core);

        // 3. Digests due (enqueued once per period key; the job does the rest).
        const due = opts.digestSchedule ? dueDigests(new Date(), { timeZone: opts.timeZone, hour: opts.digestHour, weekday: opts.weeklyDay, graceMs: DIGEST_GRACE_MS }) : [];
        for (const d of due) {
          const { rowCount } = await pool.query('select 1 from vigie.digests where period = $1 and period_key = $2', [d.period, d.periodKey]);
          if (!rowCount) {
            await this.producer.add(
              'notify.digest',
              { period: d.period, periodKey: d.periodKey, force: false },
              { jobId: jobId('digest', d.period, d.periodKey) },
            );
          }
        }

        // 4. Transitions never planned (their job was lost).
        const unplanned = await pool.query<{ alert_id: string; upto: number }>(
          `select t.alert_id, max(t.id) as upto from vigie.alert_transitions t
            where t.at > now() - interval '7 days' and t.at < clock_timestamp() - interval '30 seconds'
              and not exists (select 1 from vigie.notify_transitions nt where nt.transition_id = t.id)
            group by t.alert_id order by min(t.id) limit 50`,
        );
        for (const u of unplanned.rows) {
          const plan = await planAlert(this.core, u.alert_id, u.upto);
          await this.schedule(plan);
        }
        if (unplanned.rows.length) this.log.warn({ alerts: unplanned.rows.length }, 'transitions rattrapées par le tour périodique');

        // 5. Deliveries due for a while without a job picking them up.
        const pendingRows = await pool.query<{ alert_id: string | null; group_id: number | null; digest_id: number | null }>(
          `select distinct alert_id, case when alert_id is null then group_id end as group_id, digest_id
             from vigie.deliveries
            where status = 'pending' and next_attempt_at <= clock_timestamp() - interval '2 seconds'
            limit 100`,
        );
        for (const d of pendingRows.rows) {
          if (d.alert_id) {
            await this.flushOverdueGroups(d.alert_id);
            await deliverAlert(this.core, d.alert_id);
          } else if (d.digest_id) {
            await deliverDigestRows(this.core, d.digest_id);
            await settleDigest(this.core, d.digest_id);
          } else if (d.group_id) await deliverGroup(this.core, d.group_id);
        }

        // 6. Transitions whose deliveries are all final: done, and their events processed.
        const finals = await pool.query<{ transition_id: number }>(
          `select nt.transition_id from vigie.notify_transitions nt
            where nt.done_at is null
              and not exists (select 1 from vigie.deliveries d where d.transition_id = nt.transition_id and d.status = 'pending')
            limit 1000`,
        );
        if (finals.rows.length) await finalizeTransitions(lock, finals.rows.map((r) => r.transition_id));
        // Events of transitions already done (a re-dispatch whose job id BullMQ still remembers).
        await pool.query(
          `update vigie.outbox o set processed_at = clock_timestamp()
             from vigie.notify_transitions nt
            where o.kind = 'alert.transition' and o.processed_at is null and o.created_at < clock_timestamp() - interval '1 minute'
              and nt.transition_id = (o.payload ->> 'transition_id')::bigint and nt.done_at is not null`,
        );
        const digests = await pool.query<{ id: number }>("select id from vigie.digests where status = 'pending' and created_at < clock_timestamp() - interval '10 seconds'");
        for (const d of digests.rows) await settleDigest(this.core, d.id);

        // 7. Gauges.
        const failures = await recentPermanentFailures(pool);
        this.core.metrics.permanentFailures24h.set(failures.reduce((s, f) => s + f.n, 0));
        const pending = await pool.query<{ n: number }>("select count(*)::int as n from vigie.deliveries where status = 'pending'");
        this.core.metrics.pending.set(pending.rows[0]?.n ?? 0);
        return { status: 'done' };
      } finally {
        await lock.query("select pg_advisory_unlock(hashtext('vigie:notifier:tick'))").catch(() => undefined);
      }
    } finally {
      lock.release();
    }
  }
}
