import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';

export interface SmokeOptions {
  pool: pg.Pool;
  release: string;
  /** How long the whole round trip may take before the stuck stage is named (default 5 s). */
  timeoutMs?: number;
  /** A new canary at most this often; callers in between get the last result (default 10 s). */
  minIntervalMs?: number;
}

type Stage = 'outbox' | 'listener' | 'evaluator' | 'notifier';

export interface SmokeResult {
  status: 'pass' | 'fail';
  canaryId: string;
  release: string;
  checkedAt: string;
  /** Milliseconds from the canary's creation to each stage. */
  stages: Partial<Record<Stage, number>>;
  totalMs?: number;
  failedStage?: Stage;
  message: string;
}

interface CanaryRow {
  created_at: Date;
  dispatched_at: Date | null;
  evaluated_at: Date | null;
  notified_at: Date | null;
}

const STAGE_TEXT: Record<Stage, string> = {
  outbox: "l'événement n'a pas pu être écrit dans la boîte d'envoi",
  listener: "le listener n'a pas transmis l'événement (LISTEN, Redis ?)",
  evaluator: "l'évaluateur n'a pas traité l'événement",
  notifier: "le notificateur n'a pas traité l'événement",
};

/**
 * GET /smoke: a canary round trip through the whole pipeline (outbox →
 * listener → evaluator → notifier's null sink). No business table is touched
 * and no person is notified. Rate-limited by reuse: one canary at a time, at
 * most one every `minIntervalMs`; concurrent callers share its result.
 */
const plugin: FastifyPluginAsync<SmokeOptions> = async (app, opts) => {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const minIntervalMs = opts.minIntervalMs ?? 10_000;
  let last: { at: number; result: SmokeResult } | null = null;
  let running: Promise<SmokeResult> | null = null;

  async function runCanary(): Promise<SmokeResult> {
    const checkedAt = new Date().toISOString();
    let canaryId = '';
    try {
      const { rows } = await opts.pool.query<{ id: string }>('select vigie.start_canary($1) as id', [opts.release]);
      canaryId = rows[0]!.id;
    } catch (err) {
      return { status: 'fail', canaryId, release: opts.release, checkedAt, stages: {}, failedStage: 'outbox', message: `${STAGE_TEXT.outbox} : ${(err as Error).message}` };
    }
    const deadline = Date.now() + timeoutMs;
    let row: CanaryRow | undefined;
    for (;;) {
      const res = await opts.pool.query<CanaryRow>(
        `select c.created_at, o.dispatched_at, c.evaluated_at, c.notified_at
           from vigie.canaries c
           left join vigie.outbox o on o.kind = 'canary.ping' and o.entity_id = c.id::text
          where c.id = $1`,
        [canaryId],
      );
      row = res.rows[0];
      if (row?.notified_at || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 15));
    }
    const t0 = row?.created_at.getTime() ?? Date.now();
    const ms = (d: Date | null | undefined) => (d ? Math.max(0, d.getTime() - t0) : undefined);
    const stages: Partial<Record<Stage, number>> = { outbox: 0 };
    const l = ms(row?.dispatched_at);
    const e = ms(row?.evaluated_at);
    const n = ms(row?.notified_at);
    if (l !== undefined) stages.listener = l;
    if (e !== undefined) stages.evaluator = e;
    if (n !== undefined) stages.notifier = n;
    if (n !== undefined) return { status: 'pass', canaryId, release: opts.release, checkedAt, stages, totalMs: n, message: 'chaîne complète opérationnelle' };
    const failedStage: Stage = l === undefined ? 'listener' : e === undefined ? 'evaluator' : 'notifier';
    return { status: 'fail', canaryId, release: opts.release, checkedAt, stages, failedStage, message: `${STAGE_TEXT[failedStage]} en ${timeoutMs} ms` };
  }

  app.get('/smoke', { logLevel: 'warn' }, async (_req, reply) => {
    let result: SmokeResult;
    if (last && Date.now() - last.at < minIntervalMs) result = last.result;
    else {
      running ??= runCanary().finally(() => {
        running = null;
      });
      result = await running;
      last = { at: Date.now(), result };
    }
    reply.header('cache-control', 'no-store');
    if (result.status === 'fail') reply.code(503).header('retry-after', String(Math.ceil(minIntervalMs / 1000)));
    return result;
  });
};

export const smokeRoutes = fp(plugin, { name: 'vigie-smoke', fastify: '5.x' });
