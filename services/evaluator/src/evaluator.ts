import type { Logger } from '@vigie/logger';
import { type Producer, jobId } from '@vigie/queue';
import { type Scope, type Thresholds, cdrDeadlines, evaluateScope, sweep } from '@vigie/rules';
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
}

/** Outbox kinds and what they call for. Security kinds are acknowledged until their rules exist. */
const EVALUATED: Record<string, 'citerne' | 'cdr'> = {
  'reception.created': 'citerne',
  'sortie.created': 'citerne',
  'adjustment.created': 'citerne',
  'citerne.changed': 'citerne',
  'cdr.created': 'cdr',
  'cdr.status_changed': 'cdr',
};

export type EventOutcome = 'evaluated' | 'coalesced' | 'acknowledged' | 'missing';

/**
 * The integrity side of event processing: coalesced, idempotent evaluations
 * that read current state, and the deadline jobs of time-based rules.
 */
export class Evaluator {
  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: Producer,
    private readonly opts: EvaluatorOptions,
    private readonly log: Logger,
    private readonly metrics: EvaluatorMetrics,
  ) {}

  /** One outbox event (job event.process). Always ends with the event marked processed. */
  async processEvent(eventId: number, kind: string, scope: string | null): Promise<EventOutcome> {
    if (kind === 'canary.ping') return this.passCanary(eventId);
    const target = EVALUATED[kind];
    if (!target || !scope) {
      await this.pool.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1 and processed_at is null', [eventId]);
      this.metrics.acknowledged.inc({ kind });
      return 'acknowledged';
    }
    const outcome = await this.evaluateEventScope(eventId, scope);
    if (outcome === 'evaluated' && target === 'cdr') await this.scheduleDeadlines(scope.slice('cdr:'.length));
    return outcome;
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
   * Coalescing: under the scope's lock, an event already covered by an
   * evaluation (processed) is skipped; otherwise every pending event of the
   * scope visible now is covered by one evaluation that reads current state.
   * Marking exactly the events seen (rather than "every id below a max")
   * keeps a slower transaction's event, committed later with a lower id,
   * from being skipped.
   */
  private async evaluateEventScope(eventId: number, scope: string): Promise<EventOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [scope]);
      const me = await client.query<{ processed: boolean }>('select processed_at is not null as processed from vigie.outbox where id = $1', [eventId]);
      if (!me.rows[0]) {
        await client.query('commit');
        return 'missing';
      }
      if (me.rows[0].processed) {
        await client.query('commit');
        this.metrics.coalesced.inc();
        return 'coalesced';
      }
      const { rows: batch } = await client.query<OutboxEvent>(
        `select id, kind, entity_id, scope, payload, created_at from vigie.outbox
          where scope = $1 and processed_at is null order by id`,
        [scope],
      );
      const first = batch[0]!;
      const target: Scope = scope.startsWith('cdr:')
        ? { kind: 'cdr', cdrId: scope.slice(4) }
        : {
            kind: 'citerne',
            citerneId: scope.slice('citerne:'.length),
            movementIds: batch.flatMap((e) =>
              e.kind === 'adjustment.created' ? [String(e.payload.mouvement_id ?? '')] : e.kind === 'citerne.changed' ? [] : [e.entity_id],
            ),
          };
      const res = await evaluateScope(client, target, {
        thresholds: this.opts.thresholds,
        lang: this.opts.lang,
        source: { eventId: first.id, eventAt: first.created_at.toISOString() },
      });
      const ids = batch.map((e) => e.id);
      await client.query('update vigie.outbox set processed_at = clock_timestamp() where id = any($1::bigint[])', [ids]);
      await client.query(
        `insert into vigie.eval_scopes as s (scope, evaluated_upto, evaluations, events, last_evaluated_at)
         values ($1, $2, 1, $3, clock_timestamp())
         on conflict (scope) do update set evaluated_upto = greatest(s.evaluated_upto, excluded.evaluated_upto),
           evaluations = s.evaluations + 1, events = s.events + excluded.events, last_evaluated_at = excluded.last_evaluated_at`,
        [scope, Math.max(...ids), ids.length],
      );
      await client.query('commit');
      this.record(target.kind, 'event', res.durationMs, res.findings.map((f) => f.check_code));
      const changed = res.actions.filter((a) => a.action !== 'still_open');
      if (changed.length) this.log.info({ scope, eventId, events: ids.length, changes: changed.map((a) => `${a.check_code}:${a.action}`) }, 'alertes mises à jour');
      return 'evaluated';
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
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
    for (const d of due) {
      const delay = d.dueAt.getTime() - Date.now() + 1_000;
      if (delay <= 0) continue;
      await this.producer.add(
        'deadline.check',
        { checkCode: d.checkCode, entityType: 'CDR', entityId: cdrId, dueAt: d.dueAt.toISOString() },
        { delay, jobId: jobId('deadline', d.checkCode, cdrId, d.dueAt.getTime()) },
      );
    }
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
