import type { AlertView, DigestView, LocationCount, Severity } from '@vigie/channels';
import type pg from 'pg';
import { actorLabel, actorNames } from './content.js';
import type { NotifierCore } from './core.js';
import type { Period } from './schedule.js';
import { TRANSITION_COLUMNS, type TransitionRow, alertView } from './view.js';

/**
 * A digest's figures, computed once per period from vigie.alert_transitions
 * (opened, resolved, time to detect / acknowledge / resolve) and ML_PP's
 * open alerts (through vigie.notifier_open_alerts()), then stored in
 * vigie.digests.figures so every recipient and every retry gets the same.
 */

/** DigestView with dates as ISO strings (the JSON stored in vigie.digests.figures). */
export type StoredDigest = Record<string, unknown>;

interface OpenAlertRow {
  id: string;
  check_code: string;
  severity: Severity;
  entity_type: string;
  entity_id: string;
  message: string;
  payload: Record<string, unknown>;
  status: 'OPEN' | 'ACK';
  first_detected_at: Date;
  last_detected_at: Date;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
}

const bySeverityThenTime = (a: AlertView, b: AlertView) =>
  (a.severity === b.severity ? 0 : a.severity === 'CRITICAL' ? -1 : 1) || a.firstDetectedAt.getTime() - b.firstDetectedAt.getTime();

export async function computeDigest(core: NotifierCore, client: pg.ClientBase, period: Period, from: Date, to: Date): Promise<DigestView> {
  const { lang, link } = core.opts;
  const view = (t: TransitionRow, extra: Partial<Parameters<typeof alertView>[1]> = {}) =>
    alertView(t, { lang, link, family: core.policy.familyOf(t.check_code, t.payload), ...extra });

  const opened = await client.query<TransitionRow>(
    `select distinct on (alert_id) ${TRANSITION_COLUMNS} from vigie.alert_transitions
      where kind in ('opened', 'reopened') and at >= $1 and at < $2 order by alert_id, id desc`,
    [from, to],
  );
  const resolved = await client.query<TransitionRow>(
    `select distinct on (alert_id) ${TRANSITION_COLUMNS} from vigie.alert_transitions
      where kind = 'resolved' and at >= $1 and at < $2 order by alert_id, id desc`,
    [from, to],
  );
  const open = await client.query<OpenAlertRow>('select * from vigie.notifier_open_alerts()');
  const names = await actorNames(client, [
    ...resolved.rows.map((r) => r.actor),
    ...open.rows.map((r) => r.acknowledged_by),
  ]);

  const openedViews = opened.rows.map((t) => view(t, { lastDetectedAt: t.at })).sort(bySeverityThenTime);
  const resolvedViews = resolved.rows
    .map((t) => view(t, { resolved: { by: actorLabel(t.actor, t.origin, names, lang), at: t.at } }))
    .sort(bySeverityThenTime);
  const stillOpen = open.rows
    .map((a) =>
      view(
        {
          id: 0,
          alert_id: a.id,
          kind: 'opened',
          from_status: null,
          to_status: a.status,
          check_code: a.check_code,
          severity: a.severity,
          entity_type: a.entity_type,
          entity_id: a.entity_id,
          actor: null,
          origin: 'other',
          at: a.last_detected_at,
          first_detected_at: a.first_detected_at,
          source_event_at: null,
          message: a.message,
          payload: a.payload ?? {},
        },
        {
          lastDetectedAt: a.last_detected_at,
          ...(a.status === 'ACK' && a.acknowledged_at
            ? { acknowledged: { by: actorLabel(a.acknowledged_by, 'app', names, lang), at: a.acknowledged_at } }
            : {}),
        },
      ),
    )
    .sort(bySeverityThenTime);

  const timings = await client.query<{ mttd: number | null; mtta: number | null; mttr: number | null }>(
    `select
       (select avg(extract(epoch from t.at - t.source_event_at))::float8 from vigie.alert_transitions t
         where t.kind in ('opened', 'reopened') and t.at >= $1 and t.at < $2
           and t.source_event_at is not null and t.source_event_at <= t.at) as mttd,
       (select avg(extract(epoch from a.at - o.at))::float8 from vigie.alert_transitions a
          cross join lateral (select o.at from vigie.alert_transitions o
                               where o.alert_id = a.alert_id and o.id < a.id and o.kind in ('opened', 'reopened')
                               order by o.id desc limit 1) o
         where a.kind = 'acknowledged' and a.at >= $1 and a.at < $2) as mtta,
       (select avg(extract(epoch from a.at - o.at))::float8 from vigie.alert_transitions a
          cross join lateral (select o.at from vigie.alert_transitions o
                               where o.alert_id = a.alert_id and o.id < a.id and o.kind in ('opened', 'reopened')
                               order by o.id desc limit 1) o
         where a.kind = 'resolved' and a.at >= $1 and a.at < $2) as mttr`,
    [from, to],
  );
  const tm = timings.rows[0];

  return {
    period,
    from,
    to,
    openBySeverity: {
      CRITICAL: stillOpen.filter((v) => v.severity === 'CRITICAL').length,
      WARN: stillOpen.filter((v) => v.severity === 'WARN').length,
    },
    opened: openedViews,
    resolved: resolvedViews,
    stillOpen,
    mttdSeconds: tm?.mttd ?? null,
    mttaSeconds: tm?.mtta ?? null,
    mttrSeconds: tm?.mttr ?? null,
    byLocation: byLocation(openedViews, resolvedViews, stillOpen),
    link,
  };
}

/** Counts per dépôt and citerne (alerts without a place are counted under "—"). */
export function byLocation(opened: AlertView[], resolved: AlertView[], open: AlertView[]): LocationCount[] {
  const m = new Map<string, LocationCount>();
  const at = (v: AlertView) => {
    const depot = v.where.depot ?? '—';
    const citerne = v.where.citerne ?? '—';
    const k = `${depot}\u0000${citerne}`;
    let c = m.get(k);
    if (!c) {
      c = { depot, citerne, open: 0, opened: 0, resolved: 0 };
      m.set(k, c);
    }
    return c;
  };
  for (const v of open) at(v).open++;
  for (const v of opened) at(v).opened++;
  for (const v of resolved) at(v).resolved++;
  return [...m.values()].sort((a, b) => a.depot.localeCompare(b.depot) || a.citerne.localeCompare(b.citerne, undefined, { numeric: true }));
}

const ALERT_DATES = ['firstDetectedAt', 'lastDetectedAt', 'acknowledgedAt', 'resolvedAt'] as const;

/** The stored JSON back into a DigestView (dates revived). */
export function reviveDigest(stored: StoredDigest): DigestView {
  const d = stored as unknown as DigestView & Record<string, unknown>;
  const alert = (a: AlertView): AlertView => {
    const out = { ...a } as AlertView & Record<string, unknown>;
    for (const k of ALERT_DATES) {
      const v = out[k];
      if (typeof v === 'string') out[k] = new Date(v);
    }
    return out;
  };
  return {
    ...d,
    from: new Date(d.from as unknown as string),
    to: new Date(d.to as unknown as string),
    opened: d.opened.map(alert),
    resolved: d.resolved.map(alert),
    stillOpen: d.stillOpen.map(alert),
  };
}
