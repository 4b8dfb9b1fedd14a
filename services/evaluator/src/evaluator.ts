import type { Logger } from '@vigie/logger';
import { Coalescer, type Producer, jobId } from '@vigie/queue';
import { type Finding, type Phase, type Scope, type Thresholds, cdrDeadlines, evaluateScope, openCdrDeadlines, sweep } from '@vigie/rules';
import { SECURITY_EVENT_KINDS, type SecuritySettings, handleSecurityEvent, securitySweep } from '@vigie/security';
import type pg from 'pg';
import type { EvaluatorMetrics } from './metrics.js';

interface OutboxEvent {
  id: number;
  kind: string;
  entity_id: string;
  scope: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

export interface EvaluatorOptions {
  thresholds: Thresholds;
  lang: 'fr' | 'en';
  security: SecuritySettings;
  /**
   * A tank's stock-history rules (its whole timeline) run at most this often;
   * its movement and book-stock rules run for every event. 0: every event.
   */
  historyIntervalMs?: number;
  /**
   * Evaluations of a busy scope (its last one covered several events) start
   * at least this far apart in this process (default 15 ms), in batches of
   * the events that arrived meanwhile; a quiet one is evaluated at once.
   */
  lingerMs?: number;
}

/** Kinds judged by the security rules, one event at a time (jobs are coalesced, judgments never are). */
const SECURITY_KINDS = new Set<string>(SECURITY_EVENT_KINDS.filter((k) => k !== 'alert.transition'));

export type EventOutcome = 'evaluated' | 'coalesced' | 'acknowledged' | 'missing';

/** The integrity evaluation a scope calls for, by its prefix. */
function integrityTarget(scope: string | null): 'citerne' | 'cdr' | undefined {
  if (scope?.startsWith('citerne:')) return 'citerne';
  if (scope?.startsWith('cdr:')) return 'cdr';
  return undefined;
}

const EVENT_COLUMNS = 'id, kind, entity_id, scope, payload, created_at';
/** Events read per pass by one job of a key without integrity evaluation. */
const PENDING_BATCH = 1_000;

/**
 * The integrity side of event processing: coalesced, idempotent evaluations
 * that read current state, and the deadline jobs of time-based rules.
 */
export class Evaluator {
  /** When each scope's last evaluation started here, and how many new events it covered (see EvaluatorOptions.lingerMs). */
  private readonly lastStart = new Map<string, { at: number; events: number }>();
  /**
   * Events whose first phase ran here and that wait for their tank's history
   * phase: the next first phases skip them (another replica, or this one
   * after a restart, evaluates them again, which is harmless).
   */
  private readonly firstPhaseDone = new Map<string, Set<number>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: Producer,
    private readonly opts: EvaluatorOptions,
    private readonly log: Logger,
    private readonly metrics: EvaluatorMetrics,
    /** The listener's job coalescing (null: every job is looked at alone, as in tests without Redis). */
    private readonly coalescer: Coalescer | null = null,
  ) {}

  /**
   * One `event.process` job. The listener coalesces events into one job per
   * key (the scope, else the kind; see Coalescer): a job covers every pending
   * event of its key, and always ends with them marked processed.
   */
  async processEvent(eventId: number, kind: string, scope: string | null, opts: { history?: boolean } = {}): Promise<EventOutcome> {
    if (kind === 'canary.ping') return this.passCanary(eventId);
    const target = integrityTarget(scope);
    if (!target || !scope) return this.processPending(kind, scope);
    const outcome = await this.evaluateEventScope(eventId, scope, opts.history ?? false);
    if (outcome === 'evaluated' && target === 'cdr') await this.scheduleDeadlines(scope.slice('cdr:'.length));
    return outcome;
  }

  /**
   * The pending events of a key without integrity evaluation (a kind without
   * scope such as log_action.created, or a scope such as profil:<id>), under
   * the key's lock: security kinds are judged one event at a time, in order;
   * the others are acknowledged.
   */
  private async processPending(kind: string, scope: string | null): Promise<EventOutcome> {
    const key = Coalescer.key(kind, scope);
    const client = await this.pool.connect();
    let judged = 0;
    let acknowledged = 0;
    try {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [key]);
      // After the lock and before the read: what arrives from now on gets a job of its own.
      await this.coalescer?.release(key);
      for (;;) {
        const { rows: events } = await client.query<OutboxEvent>(
          scope === null
            ? `select ${EVENT_COLUMNS} from vigie.outbox where processed_at is null and scope is null and kind = $1 order by id limit $2`
            : `select ${EVENT_COLUMNS} from vigie.outbox where processed_at is null and scope = $1 order by id limit $2`,
          [scope ?? kind, PENDING_BATCH],
        );
        const plain: number[] = [];
        for (const e of events) {
          if (SECURITY_KINDS.has(e.kind)) {
            await this.judgeSecurity(e, true);
            judged++;
          } else plain.push(e.id);
        }
        if (plain.length) {
          await client.query('update vigie.outbox set processed_at = clock_timestamp() where id = any($1::bigint[]) and processed_at is null', [plain]);
          for (const e of events) if (!SECURITY_KINDS.has(e.kind)) this.metrics.acknowledged.inc({ kind: e.kind });
          acknowledged += plain.length;
        }
        if (events.length < PENDING_BATCH) break;
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    if (judged) return 'evaluated';
    if (acknowledged) return 'acknowledged';
    this.metrics.coalesced.inc();
    return 'coalesced';
  }

  /**
   * A security event: rules, journal and alerts in one transaction (idempotent:
   * a replay finds its journal rows), then marked processed unless the
   * integrity path owns that.
   */
  private async judgeSecurity(event: OutboxEvent, markProcessed: boolean): Promise<void> {
    const t0 = performance.now();
    const res = await handleSecurityEvent(this.pool, event, this.opts.security);
    if (markProcessed) await this.pool.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1 and processed_at is null', [event.id]);
    this.record('security', 'event', performance.now() - t0, res.findings.map((f) => f.check_code));
  }

  /** The /smoke canary's evaluator stage: stamp it and hand it to the notifier. */
  private async passCanary(eventId: number): Promise<EventOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ entity_id: string }>(
        "update vigie.outbox set processed_at = clock_timestamp() where id = $1 and processed_at is null and kind = 'canary.ping' returning entity_id",
        [eventId],
      );
      if (rows[0]) await client.query('select vigie.canary_evaluated($1::uuid)', [rows[0].entity_id]);
      await client.query('commit');
      return 'acknowledged';
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Coalescing: under the scope's lock, every pending event of the scope
   * visible now is covered by one evaluation that reads current state; a job
   * that finds none (an earlier evaluation covered its events) is done.
   * Marking exactly the events seen (rather than "every id below a max")
   * keeps a slower transaction's event, committed later with a lower id,
   * from being skipped.
   *
   * A tank is evaluated in two transactions: its movement and book-stock
   * rules first, under the scope's session lock, committed at once (an
   * anomalous movement's alert does not wait for the history); then its
   * stock-history rules, which mark the events processed, under a lock of
   * their own — the next events' first phase does not wait for them. A crash
   * in between replays the whole job; both phases are idempotent. The history phase runs at most
   * every `historyIntervalMs` per tank: sooner, the events stay pending (the
   * next job of the tank re-reads them) and a delayed job of the tank is due
   * when the interval ends — Postgres still holds every pending event, so a
   * lost delayed job delays the history rules, never loses an event.
   */
  private async evaluateEventScope(eventId: number, scope: string, forceHistory = false): Promise<EventOutcome> {
    const client = await this.pool.connect();
    let held: string | null = scope;
    const lock = async (key: string) => {
      await client.query('select pg_advisory_lock(hashtext($1))', [key]);
      held = key;
    };
    const unlock = async () => {
      const key = held;
      held = null;
      if (key) await client.query('select pg_advisory_unlock(hashtext($1))', [key]);
    };
    try {
      await client.query('select pg_advisory_lock(hashtext($1))', [scope]);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    try {
      const last = this.lastStart.get(scope);
      const wait = last && last.events > 1 ? last.at + (this.opts.lingerMs ?? 15) - performance.now() : 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.lastStart.size > 10_000) this.lastStart.clear();
      const started = performance.now();
      // After the lock and before the read: what arrives from now on gets a job of its own.
      await this.coalescer?.release(scope);
      const { rows: batch } = await client.query<OutboxEvent>(
        `select ${EVENT_COLUMNS} from vigie.outbox where scope = $1 and processed_at is null order by id`,
        [scope],
      );
      // Only the ids still pending are kept (another replica may have processed the others).
      const pendingIds = new Set(batch.map((e) => e.id));
      const done = new Set([...(this.firstPhaseDone.get(scope) ?? [])].filter((id) => pendingIds.has(id)));
      this.firstPhaseDone.set(scope, done);
      const fresh = batch.filter((e) => !done.has(e.id));
      this.lastStart.set(scope, { at: started, events: fresh.length });
      const first = batch[0];
      if (!first) {
        this.metrics.coalesced.inc();
        return 'coalesced';
      }
      // adjustment.created is both a privileged action (security) and a stock movement (integrity).
      for (const e of fresh) if (SECURITY_KINDS.has(e.kind)) await this.judgeSecurity(e, false);
      const movementIds = (events: OutboxEvent[]) =>
        events.flatMap((e) => (e.kind === 'adjustment.created' ? [String(e.payload.mouvement_id ?? '')] : e.kind === 'citerne.changed' ? [] : [e.entity_id]));
      const citerneId = scope.slice('citerne:'.length);
      const target: Scope = scope.startsWith('cdr:') ? { kind: 'cdr', cdrId: scope.slice(4) } : { kind: 'citerne', citerneId, movementIds: movementIds(batch) };
      const base = {
        thresholds: this.opts.thresholds,
        lang: this.opts.lang,
        recordStatus: fresh.some((e) => e.kind === 'citerne.changed'),
      };
      // The event a finding is timed from (time to detect), among the events the phase judges (the first phase: the
      // fresh ones; the history phase: every pending one): a movement's finding, from the newest event about that
      // movement (its insert, an adjustment of it); any other, from the oldest event (an upper bound).
      const sourceOf = (phase: Phase) => {
        const judged = phase === 'fast' && fresh.length > 0 ? fresh : batch;
        const byMovement = new Map<string, OutboxEvent>();
        for (const e of judged) for (const m of movementIds([e])) byMovement.set(m, e);
        const oldest = judged[0] ?? first;
        return (f: Finding) => {
          const e = (f.entity_type === 'RECEPTION' || f.entity_type === 'SORTIE' ? byMovement.get(f.entity_id) : undefined) ?? oldest;
          return { eventId: e.id, eventAt: e.created_at.toISOString() };
        };
      };
      let phases: Phase[] = target.kind === 'citerne' ? ['fast', 'history'] : ['all'];
      // The tank's delayed history job runs it whatever the clocks say (it would otherwise reschedule itself into its own id).
      const historyIn = target.kind === 'citerne' && !forceHistory ? await this.historyDueIn(client, scope) : 0;
      if (historyIn > 0) phases = ['fast'];
      // The first phase judges only the events it has not judged yet (the others wait for the history).
      if (target.kind === 'citerne' && fresh.length === 0) phases = phases.filter((p) => p !== 'fast');
      const ids = batch.map((e) => e.id);
      let durationMs = 0;
      const findings: string[] = [];
      const changed: string[] = [];
      for (const [i, phase] of phases.entries()) {
        if (phase === 'history') {
          await unlock();
          await lock(`${scope}#history`);
        }
        await client.query('begin');
        try {
          const scoped: Scope = phase === 'fast' && target.kind === 'citerne' ? { ...target, movementIds: movementIds(fresh) } : target;
          const res = await evaluateScope(client, scoped, { ...base, source: sourceOf(phase), phase });
          if (i === phases.length - 1 && historyIn === 0) {
            await client.query('update vigie.outbox set processed_at = clock_timestamp() where id = any($1::bigint[]) and processed_at is null', [ids]);
            await client.query(
              `insert into vigie.eval_scopes as s (scope, evaluated_upto, evaluations, events, last_evaluated_at)
               values ($1, $2, 1, $3, clock_timestamp())
               on conflict (scope) do update set evaluated_upto = greatest(s.evaluated_upto, excluded.evaluated_upto),
                 evaluations = s.evaluations + 1, events = s.events + excluded.events, last_evaluated_at = excluded.last_evaluated_at`,
              [scope, Math.max(...ids), ids.length],
            );
          }
          await client.query('commit');
          if (phase === 'fast') {
            const set = this.firstPhaseDone.get(scope) ?? new Set<number>();
            for (const e of fresh) set.add(e.id);
            this.firstPhaseDone.set(scope, set);
          } else if (phase === 'history') {
            const set = this.firstPhaseDone.get(scope);
            if (set) for (const id of ids) set.delete(id);
          }
          if (this.firstPhaseDone.size > 10_000) this.firstPhaseDone.clear();
          durationMs += res.durationMs;
          findings.push(...res.findings.map((f) => f.check_code));
          const moved = res.actions.filter((a) => a.action !== 'still_open');
          changed.push(...moved.map((a) => `${a.check_code}:${a.action}`));
          if (moved.length) await this.handOver(client, moved.map((a) => a.alert_id));
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          throw err;
        }
      }
      this.record(target.kind, 'event', durationMs, findings);
      if (changed.length) this.log.info({ scope, eventId, events: ids.length, changes: changed }, 'alertes mises à jour');
      if (historyIn > 0) await this.historyLater(scope, first, historyIn);
      else if (target.kind === 'citerne' && (this.opts.historyIntervalMs ?? 0) > 0) {
        // Events that arrived while this history ran may have asked for the delayed job this very
        // job stood for (same id, deduplicated): whoever runs the history schedules the next one.
        const { rows } = await client.query<{ n: boolean }>('select exists (select 1 from vigie.outbox where scope = $1 and processed_at is null) as n', [scope]);
        if (rows[0]?.n) await this.historyLater(scope, first, this.opts.historyIntervalMs ?? 0);
      }
      return 'evaluated';
    } finally {
      try {
        await unlock();
        client.release();
      } catch (err) {
        // A connection that may still hold the lock is closed, never handed back to the pool.
        client.release(err as Error);
      }
    }
  }

  /**
   * Hands the transitions just committed straight to the notifier, without
   * waiting for the listener's next drain: the same notify.transition jobs,
   * with the same job ids, that the listener adds when it drains their outbox
   * events (BullMQ keeps one). Best effort: the outbox stays the way there.
   */
  private async handOver(client: pg.PoolClient, alertIds: string[]): Promise<void> {
    try {
      const { rows } = await client.query<{ id: string; transition_id: string }>(
        `select id, payload ->> 'transition_id' as transition_id from vigie.outbox
          where dispatched_at is null and processed_at is null and kind = 'alert.transition' and entity_id = any ($1::text[])`,
        [alertIds],
      );
      const jobs = rows.flatMap((r) => {
        const transitionId = Number(r.transition_id);
        return Number.isSafeInteger(transitionId) && transitionId > 0
          ? [{ name: 'notify.transition' as const, data: { transitionId, eventId: Number(r.id) }, opts: { jobId: jobId('tr', transitionId) } }]
          : [];
      });
      if (jobs.length) await this.producer.addBulk(jobs);
    } catch (err) {
      this.log.debug({ err }, 'transmission directe au notificateur impossible : la boîte d’envoi s’en charge');
    }
  }

  /** Job ids of the delayed history jobs (the handler tells the evaluator it is one). */
  static readonly HISTORY_JOB_PREFIX = 'hist-';

  /** A delayed job of the tank when its next history is due: one per tank and interval (the job id dedupes). */
  private async historyLater(scope: string, first: OutboxEvent, delay: number): Promise<void> {
    const bucket = Math.ceil((Date.now() + delay) / Math.max(1, this.opts.historyIntervalMs ?? 1));
    await this.producer.add('event.process', { eventId: first.id, kind: first.kind, scope }, { delay, jobId: jobId('hist', scope, bucket) });
  }

  /** Milliseconds until a tank's next stock-history evaluation may run (0: now). */
  private async historyDueIn(client: pg.PoolClient, scope: string): Promise<number> {
    const interval = this.opts.historyIntervalMs ?? 0;
    if (interval <= 0) return 0;
    const { rows } = await client.query<{ age: number | null }>(
      'select (extract(epoch from clock_timestamp() - last_evaluated_at) * 1000)::float8 as age from vigie.eval_scopes where scope = $1',
      [scope],
    );
    const age = rows[0]?.age;
    // Due within a few milliseconds: now (a delayed job for it would be all overhead).
    return age === null || age === undefined || age >= interval - 10 ? 0 : Math.ceil(interval - age);
  }

  /** Delayed deadline.check jobs for a CDR's time-based rules, at their due time. */
  async scheduleDeadlines(cdrId: string): Promise<void> {
    const client = await this.pool.connect();
    let due: Awaited<ReturnType<typeof cdrDeadlines>>;
    try {
      due = await cdrDeadlines(client, cdrId, this.opts.thresholds);
    } finally {
      client.release();
    }
    await this.enqueueDeadlines(due.map((d) => ({ ...d, cdrId })));
  }

  /**
   * The future deadlines of every open CDR, scheduled again. Delayed jobs live
   * in Redis (a restart without persistence or a FLUSHALL loses them); the job
   * id of a deadline is fixed, so the ones still there are not duplicated.
   * Returns how many deadlines were looked at.
   */
  async rescheduleOpenDeadlines(): Promise<number> {
    const client = await this.pool.connect();
    let due: Awaited<ReturnType<typeof openCdrDeadlines>>;
    try {
      due = await openCdrDeadlines(client, this.opts.thresholds);
    } finally {
      client.release();
    }
    await this.enqueueDeadlines(due);
    return due.length;
  }

  private async enqueueDeadlines(due: ReadonlyArray<{ cdrId: string; checkCode: string; dueAt: Date }>): Promise<void> {
    const now = Date.now();
    const jobs = due
      .map((d) => ({ d, delay: d.dueAt.getTime() - now + 1_000 }))
      .filter(({ delay }) => delay > 0)
      .map(({ d, delay }) => ({
        name: 'deadline.check' as const,
        data: { checkCode: d.checkCode, entityType: 'CDR', entityId: d.cdrId, dueAt: d.dueAt.toISOString() },
        opts: { delay, jobId: jobId('deadline', d.checkCode, d.cdrId, d.dueAt.getTime()) },
      }));
    if (jobs.length) await this.producer.addBulk(jobs);
  }

  /** A deadline fell due: re-evaluate that CDR (reads current state; harmless if it moved on). */
  async deadline(cdrId: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`cdr:${cdrId}`]);
      const res = await evaluateScope(client, { kind: 'cdr', cdrId }, { thresholds: this.opts.thresholds, lang: this.opts.lang });
      await client.query('commit');
      this.record('cdr', 'deadline', res.durationMs, res.findings.map((f) => f.check_code));
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** One sweep at a time across replicas (session advisory lock); false when another runs. */
  async sweep(reason: string, full = false): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      const lock = await client.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext('vigie:sweep')) as ok");
      if (!lock.rows[0]?.ok) {
        this.metrics.sweeps.inc({ outcome: 'skipped' });
        return false;
      }
      try {
        const res = await sweep(client, { thresholds: this.opts.thresholds, lang: this.opts.lang, full });
        this.record('all', 'sweep', res.durationMs, res.findings.map((f) => f.check_code));
        this.metrics.sweeps.inc({ outcome: 'done' });
        const changed = res.actions.filter((a) => a.action !== 'still_open');
        this.log.info({ reason, durationMs: Math.round(res.durationMs), findings: res.findings.length, changes: changed.length }, 'balayage terminé');
        // Security rules have their own coverage: the integrity sweep never resolves SEC_* alerts.
        const sec = await securitySweep(this.pool, this.opts.security);
        this.log.info({ reason, findings: sec.findings.length, journaled: sec.journaled }, 'balayage sécurité terminé');
        // The sweep's safety net for time-based rules: deadlines lost with Redis are scheduled again.
        const deadlines = await this.rescheduleOpenDeadlines();
        this.log.debug({ reason, deadlines }, 'échéances des cours de route reprogrammées');
        await this.refreshOpenAlerts();
        return true;
      } finally {
        await client.query("select pg_advisory_unlock(hashtext('vigie:sweep'))").catch(() => undefined);
      }
    } catch (err) {
      this.metrics.sweeps.inc({ outcome: 'failed' });
      throw err;
    } finally {
      client.release();
    }
  }

  async refreshOpenAlerts(): Promise<void> {
    const { rows } = await this.pool.query<{ severity: string; n: number }>('select severity, sum(n)::int as n from vigie.open_alert_counts() group by 1');
    for (const s of ['CRITICAL', 'WARN']) this.metrics.openAlerts.set({ severity: s }, rows.find((r) => r.severity === s)?.n ?? 0);
  }

  private record(scope: string, trigger: string, ms: number, codes: string[]): void {
    this.metrics.evaluations.inc({ scope, trigger });
    this.metrics.duration.observe({ scope }, ms / 1000);
    for (const c of codes) this.metrics.findings.inc({ rule: c });
  }
}
