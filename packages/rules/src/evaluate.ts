import { createHash } from 'node:crypto';
import type { ClientBase } from 'pg';
import { RULES, type RuleFamily, type RuleSpec, type Thresholds } from './catalogue.js';

/** What one evaluation looks at. */
export type Scope =
  /** One tank: its stock rules, plus the movement rules of these movements (from the events). */
  | { kind: 'citerne'; citerneId: string; movementIds?: readonly string[] }
  /** One cours de route. */
  | { kind: 'cdr'; cdrId: string }
  /** Everything (the sweep). */
  | { kind: 'all' };

export interface Finding {
  check_code: string;
  severity: 'CRITICAL' | 'WARN';
  entity_type: string;
  entity_id: string;
  message_fr: string;
  message_en: string;
  payload: Record<string, unknown>;
}

export interface SyncAction {
  alert_id: string;
  check_code: string;
  entity_id: string;
  action: 'opened' | 'reopened' | 'still_open' | 'resolved';
}

export interface Coverage {
  check_code: string;
  /** null: every entity of the code. */
  entity_ids: string[] | null;
}

/**
 * Which rules of a tank's evaluation run (a CDR scope and the sweep always
 * run everything):
 *   fast    — the movement rules of the scope's events and the book-stock
 *             rules: a few milliseconds whatever the history's length, so an
 *             anomalous movement is in system_alerts right after its write;
 *   history — the stock-history rules (STOCK_DRIFT, JOURNAL_MISSING,
 *             SORTIE_STOCK_INSUFFISANT), which read the tank's whole timeline;
 *   all     — both, in one pass.
 * A fast phase then a history phase, each synced on its own, give exactly
 * the findings and coverage of one `all` pass.
 */
export type Phase = 'fast' | 'history' | 'all';

/** The stock family's rules that read the whole stock history (vigie.rules_stock's `want_hist`). */
export const HISTORY_RULES: ReadonlySet<string> = new Set(['STOCK_DRIFT', 'JOURNAL_MISSING', 'SORTIE_STOCK_INSUFFISANT']);

export interface EventSource {
  eventId: number;
  eventAt: string;
}

export interface EvaluateOptions {
  thresholds?: Thresholds;
  /** Language of system_alerts.message (the payload carries both). */
  lang?: 'fr' | 'en';
  /**
   * The outbox event a finding is timed from (time to detect): one for the
   * whole evaluation, or chosen per finding (a batch of coalesced events).
   */
  source?: EventSource | ((finding: Finding) => EventSource | null) | null;
  /** Restrict to some rule codes. */
  codes?: readonly string[];
  /** A tank's rules in one pass or in two (see Phase). Default `all`. */
  phase?: Phase;
  /**
   * The sweep only: re-judge every movement with the movement rules (a
   * routine sweep re-judges the recent, adjusted and alerted ones; see
   * vigie.sweep_movement_ids), and rebuild the cache of closed days.
   */
  full?: boolean;
  /**
   * Record the tank's statut changes from its citerne.changed events first
   * (CITERNE_INACTIVE_USED reads them). Default true; an evaluation whose
   * events hold no citerne.changed may skip it (earlier ones were recorded by
   * the evaluation that processed them).
   */
  recordStatus?: boolean;
}

export interface EvaluationResult {
  findings: Finding[];
  coverage: Coverage[];
  actions: SyncAction[];
  durationMs: number;
}

const UUID_RE = /^[0-9a-f-]{36}$/i;

/** vigie.stock_key(tank, owner), computed here: md5('CITERNE_STOCK:<tank>:<owner>')::uuid. */
export function stockKey(citerneId: string, owner: string): string {
  const h = createHash('md5').update(`CITERNE_STOCK:${citerneId.toLowerCase()}:${owner}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function selected(codes: readonly string[] | undefined, family: RuleFamily): RuleSpec[] {
  return RULES.filter((r) => r.family === family && (!codes || codes.includes(r.code)));
}

/** One family function's findings, their French message written the French way (every reader gets it so: alerts, CLI, JSON). */
async function family(client: ClientBase, sql: string, params: unknown[]): Promise<Finding[]> {
  const { rows } = await client.query<Finding>(sql, params);
  for (const f of rows) f.message_fr = frenchNumbers(f.message_fr);
  return rows;
}

/** Findings of one scope, and the coverage that lets absent findings auto-resolve. */
export async function findScope(client: ClientBase, scope: Scope, opts: EvaluateOptions = {}): Promise<{ findings: Finding[]; coverage: Coverage[] }> {
  const t = JSON.stringify(opts.thresholds ?? {});
  const stock = selected(opts.codes, 'stock');
  const movements = selected(opts.codes, 'movements');
  const cdr = selected(opts.codes, 'cdr');
  const codes = (list: RuleSpec[]) => list.map((r) => r.code);
  const findings: Finding[] = [];
  const coverage: Coverage[] = [];

  if (scope.kind === 'all') {
    await client.query('select vigie.stock_days_refresh()');
    // Movements not evaluated yet (their event is pending) may be back-dated or newly adjusted: re-fold their days first.
    await client.query(
      `select vigie.stock_days_touch(array(
         select (case when o.kind = 'adjustment.created' then o.payload ->> 'mouvement_id' else o.entity_id end)::uuid
           from vigie.outbox o
          where o.processed_at is null and o.kind in ('reception.created', 'sortie.created', 'adjustment.created')))`,
    );
    await client.query('select vigie.record_citerne_status()');
    if (stock.length) findings.push(...(await family(client, 'select * from vigie.rules_stock(null, $1::jsonb, $2::text[])', [t, codes(stock)])));
    if (movements.length && opts.full) {
      findings.push(...(await family(client, 'select * from vigie.rules_movements(null, null, $1::jsonb, $2::text[])', [t, codes(movements)])));
      for (const r of movements) coverage.push({ check_code: r.code, entity_ids: null });
    } else if (movements.length) {
      // Movements are immutable: a routine sweep re-judges only those whose verdict can have changed.
      const { rows } = await client.query<{ ids: string[] }>('select vigie.sweep_movement_ids($1::text[]) as ids', [codes(movements)]);
      const ids = rows[0]?.ids ?? [];
      if (ids.length)
        findings.push(...(await family(client, 'select * from vigie.rules_movements($1::uuid[], null, $2::jsonb, $3::text[])', [ids, t, codes(movements)])));
      for (const r of movements) coverage.push({ check_code: r.code, entity_ids: ids });
    }
    if (cdr.length) findings.push(...(await family(client, 'select * from vigie.rules_cdr(null, $1::jsonb, $2::text[])', [t, codes(cdr)])));
    for (const r of [...stock, ...cdr]) coverage.push({ check_code: r.code, entity_ids: null });
    return { findings, coverage };
  }

  if (scope.kind === 'cdr') {
    if (cdr.length) findings.push(...(await family(client, 'select * from vigie.rules_cdr($1::uuid, $2::jsonb, $3::text[])', [scope.cdrId, t, codes(cdr)])));
    for (const r of cdr) coverage.push({ check_code: r.code, entity_ids: [scope.cdrId] });
    return { findings, coverage };
  }

  const c = scope.citerneId;
  const ids = [...new Set(scope.movementIds ?? [])].filter((id) => UUID_RE.test(id));
  const phase = opts.phase ?? 'all';
  const stockNow = phase === 'all' ? stock : stock.filter((r) => HISTORY_RULES.has(r.code) === (phase === 'history'));
  const movementsNow = phase === 'history' ? [] : movements;
  if (stockNow.some((r) => HISTORY_RULES.has(r.code))) {
    // The cached closed days: moved forward, and re-folded where a movement is back-dated or newly adjusted.
    await client.query('select vigie.stock_days_refresh()');
    if (ids.length) await client.query('select vigie.stock_days_touch($1::uuid[])', [ids]);
  }
  if (phase !== 'history' && (opts.recordStatus ?? true)) await client.query('select vigie.record_citerne_status($1::uuid)', [c]);
  if (stockNow.length)
    findings.push(...(await family(client, 'select * from vigie.rules_stock($1::uuid, $2::jsonb, $3::text[])', [c, t, codes(stockNow)])));
  if (movementsNow.length && ids.length)
    findings.push(...(await family(client, 'select * from vigie.rules_movements($1::uuid[], null, $2::jsonb, $3::text[])', [ids, t, codes(movementsNow)])));

  const ownerKeys = [stockKey(c, 'MONALUXE'), stockKey(c, 'PARTENAIRE')];
  // Movement-keyed rules of a tank-wide evaluation cover every open alert on that tank's movements.
  const tankWide = stockNow.filter((r) => r.key === 'movement').map((r) => r.code);
  const open = tankWide.length
    ? (await client.query<{ check_code: string; entity_id: string }>('select * from vigie.open_alerts_of_citerne($1::uuid, $2::text[])', [c, tankWide])).rows
    : [];
  for (const r of stockNow) {
    if (r.key === 'citerne') coverage.push({ check_code: r.code, entity_ids: [c] });
    else if (r.key === 'citerne_owner') coverage.push({ check_code: r.code, entity_ids: ownerKeys });
    else coverage.push({ check_code: r.code, entity_ids: open.filter((o) => o.check_code === r.code).map((o) => o.entity_id) });
  }
  if (ids.length) for (const r of movementsNow) coverage.push({ check_code: r.code, entity_ids: ids });
  return { findings, coverage };
}

/**
 * The rules' SQL formats numbers with the server's C locale (`-2,500.0`);
 * French readers expect `-2 500,0`. Thousands separators become a narrow
 * no-break space (as Intl's fr-FR does), then decimal points commas.
 */
export function frenchNumbers(text: string): string {
  return text.replace(/(\d),(?=\d{3}(?!\d))/g, '$1\u202f').replace(/(\d)\.(\d)/g, '$1,$2');
}

/** What sync_alerts receives: the configured language in message, both in the payload, and the source event. */
export function toAlertRows(findings: readonly Finding[], opts: EvaluateOptions): Array<Record<string, unknown>> {
  const lang = opts.lang ?? 'fr';
  return findings.map((f) => {
    const src = typeof opts.source === 'function' ? opts.source(f) : opts.source;
    const vigie = src ? { event_id: src.eventId, event_at: src.eventAt } : { event_id: null, event_at: null };
    const messageFr = f.message_fr;
    return {
      check_code: f.check_code,
      severity: f.severity,
      entity_type: f.entity_type,
      entity_id: f.entity_id,
      message: lang === 'en' ? f.message_en : messageFr,
      payload: { ...f.payload, message_fr: messageFr, message_en: f.message_en, vigie },
    };
  });
}

/** Applies findings and coverage to public.system_alerts (vigie.sync_alerts). */
export async function syncAlerts(client: ClientBase, findings: readonly Finding[], coverage: readonly Coverage[], opts: EvaluateOptions = {}): Promise<SyncAction[]> {
  if (findings.length === 0 && coverage.every((c) => c.entity_ids !== null && c.entity_ids.length === 0)) return [];
  const { rows } = await client.query<SyncAction>('select * from vigie.sync_alerts($1::jsonb, $2::jsonb)', [
    JSON.stringify(toAlertRows(findings, opts)),
    JSON.stringify(coverage),
  ]);
  return rows;
}

/** The gate between scoped evaluations (shared) and the sweep (exclusive). */
export const EVAL_GATE_SQL = "hashtext('vigie:eval-gate')";

/**
 * Evaluates one scope and syncs its alerts. Runs inside the caller's
 * transaction (with the coalescing bookkeeping); waits while a sweep runs.
 */
export async function evaluateScope(client: ClientBase, scope: Scope, opts: EvaluateOptions = {}): Promise<EvaluationResult> {
  const t0 = performance.now();
  await client.query(`select pg_advisory_xact_lock_shared(${EVAL_GATE_SQL})`);
  const { findings, coverage } = await findScope(client, scope, opts);
  const actions = await syncAlerts(client, findings, coverage, opts);
  return { findings, coverage, actions, durationMs: performance.now() - t0 };
}

/**
 * The full re-check: every rule over everything, then reconciliation (gone
 * findings auto-resolve). One transaction; scoped evaluations wait for it,
 * so a sweep's older reading never overwrites a fresher scoped result. The
 * client must not be in a transaction. `full` also rebuilds the cache of
 * closed-day stock totals from scratch.
 */
export async function sweep(client: ClientBase, opts: EvaluateOptions & { full?: boolean } = {}): Promise<EvaluationResult> {
  const t0 = performance.now();
  await client.query('begin');
  try {
    await client.query(`select pg_advisory_xact_lock(${EVAL_GATE_SQL})`);
    if (opts.full) await client.query('select vigie.stock_days_refresh(true)');
    const { findings, coverage } = await findScope(client, { kind: 'all' }, opts);
    const actions = await syncAlerts(client, findings, coverage, { ...opts, source: null });
    await client.query('commit');
    return { findings, coverage, actions, durationMs: performance.now() - t0 };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

/** Due times of a CDR's deadline rules (CDR_ARRIVE_STALE, CDR_BLOCKED). */
export async function cdrDeadlines(client: ClientBase, cdrId: string, thresholds: Thresholds = {}): Promise<Array<{ checkCode: string; dueAt: Date }>> {
  const { rows } = await client.query<{ check_code: string; due_at: Date }>('select * from vigie.cdr_deadlines($1::uuid, $2::jsonb)', [
    cdrId,
    JSON.stringify(thresholds),
  ]);
  return rows.map((r) => ({ checkCode: r.check_code, dueAt: r.due_at }));
}

/** Future deadlines of every cours de route not yet DECHARGE (to schedule them again after Redis lost its delayed jobs). */
export async function openCdrDeadlines(
  client: ClientBase,
  thresholds: Thresholds = {},
): Promise<Array<{ cdrId: string; checkCode: string; dueAt: Date }>> {
  const { rows } = await client.query<{ cdr_id: string; check_code: string; due_at: Date }>('select * from vigie.open_cdr_deadlines($1::jsonb)', [
    JSON.stringify(thresholds),
  ]);
  return rows.map((r) => ({ cdrId: r.cdr_id, checkCode: r.check_code, dueAt: r.due_at }));
}
