import { digestSubject } from '@vigie/channels';
import { withTransaction } from '@vigie/db';
import type { NotifierCore } from './core.js';
import { deliverDigestRows } from './delivery.js';
import { computeDigest, reviveDigest, type StoredDigest } from './figures.js';
import { type NewDelivery, insertDeliveries, keys } from './ledger.js';
import { type Period, periodLengthMs, zonedTime } from './schedule.js';

/**
 * Digests: daily for managers (MAIL_MANAGERS), weekly for the directeur
 * (MAIL_DIRECTEUR), and optional Slack summaries. Exactly once per period:
 * vigie.digests' unique (period, period_key) names the period, its figures
 * are computed once and stored, and each recipient's message is a ledger
 * row keyed dig:<period>:<key>:<channel>:<recipient>.
 */

export interface DigestRow {
  id: number;
  period: Period;
  period_key: string;
  trigger: 'schedule' | 'manual';
  period_from: Date;
  period_to: Date;
  status: 'pending' | 'sent' | 'failed';
  figures: StoredDigest | null;
}

export interface DigestOutcome {
  digestId: number;
  status: DigestRow['status'];
  /** Set while some recipient is still to be tried. */
  retryAt: Date | null;
  recipients: Array<{ channel: string; recipient: string; status: string; error: string | null }>;
  figures: { open: { CRITICAL: number; WARN: number }; opened: number; resolved: number };
}

/** The end of a scheduled period from its key (`2026-11-23` / `W2026-11-23`) at VIGIE_DIGEST_HOUR local time. */
export function periodEnd(periodKey: string, core: NotifierCore): Date {
  const m = /^W?(\d{4})-(\d{2})-(\d{2})$/.exec(periodKey);
  if (!m) throw new Error(`clé de période invalide : ${periodKey}`);
  return zonedTime(Number(m[1]), Number(m[2]), Number(m[3]), core.opts.digestHour, core.opts.timeZone);
}

/**
 * Creates (once) and sends a digest. `to` is the period's end; the period
 * starts where the last scheduled digest of the same kind ended (at most 31
 * days back), or one period before `to`.
 */
export async function runDigest(
  core: NotifierCore,
  req: { period: Period; periodKey: string; trigger: 'schedule' | 'manual'; to: Date },
): Promise<DigestOutcome> {
  const digest = await withTransaction(core.pool, async (c) => {
    await c.query(
      `insert into vigie.digests (period, period_key, trigger, period_from, period_to)
       select $1, $2, $3,
              greatest(coalesce((select max(period_to) from vigie.digests
                                  where period = $1 and trigger = 'schedule' and status = 'sent' and period_to < $4),
                                $4::timestamptz - make_interval(secs => $5)),
                       $4::timestamptz - interval '31 days'),
              $4
       on conflict (period, period_key) do nothing`,
      [req.period, req.periodKey, req.trigger, req.to, periodLengthMs(req.period) / 1000],
    );
    const { rows } = await c.query<DigestRow>('select * from vigie.digests where period = $1 and period_key = $2 for update', [req.period, req.periodKey]);
    const d = rows[0];
    if (!d) throw new Error('synthèse introuvable après insertion');
    if (d.status !== 'pending') return d;
    if (!d.figures) {
      const view = await computeDigest(core, c, d.period, d.period_from, d.period_to);
      d.figures = JSON.parse(JSON.stringify(view)) as StoredDigest;
      await c.query('update vigie.digests set figures = $2 where id = $1', [d.id, JSON.stringify(d.figures)]);
    }
    const routing = core.policy.digest(d.period);
    const summary = digestSubject(reviveDigest(d.figures), core.out.envelope).slice(0, 300);
    const rows2: NewDelivery[] = [
      ...routing.email.map((to) => ({ channel: 'email' as const, recipient: to, action: 'email' as const })),
      ...routing.slack.map((ch) => ({ channel: 'slack' as const, recipient: ch, action: 'post' as const })),
    ].map((r) => ({ ...r, key: keys.digest(d.period, d.period_key, r.channel, r.recipient), source: 'digest' as const, digestId: d.id, kind: 'digest', summary }));
    await insertDeliveries(c, rows2);
    return d;
  });

  const sent = digest.status === 'pending' ? await deliverDigestRows(core, digest.id) : { retryAt: null };
  const status = await settleDigest(core, digest.id);
  const { rows } = await core.pool.query<{ channel: string; recipient: string; status: string; last_error_code: string | null }>(
    'select channel, recipient, status, last_error_code from vigie.deliveries where digest_id = $1 order by id',
    [digest.id],
  );
  const view = digest.figures ? reviveDigest(digest.figures) : null;
  return {
    digestId: digest.id,
    status,
    retryAt: status === 'pending' ? sent.retryAt : null,
    recipients: rows.map((r) => ({ channel: r.channel, recipient: r.recipient, status: r.status, error: r.last_error_code })),
    figures: {
      open: view?.openBySeverity ?? { CRITICAL: 0, WARN: 0 },
      opened: view?.opened.length ?? 0,
      resolved: view?.resolved.length ?? 0,
    },
  };
}

/** A digest is sent once none of its messages is pending (failed when none went out). */
export async function settleDigest(core: NotifierCore, digestId: number): Promise<DigestRow['status']> {
  const { rows } = await core.pool.query<{ status: DigestRow['status']; period: Period; changed: boolean }>(
    `with s as (
       select count(*) filter (where status = 'pending') as pending, count(*) filter (where status = 'sent') as sent, count(*) as total
         from vigie.deliveries where digest_id = $1
     ), u as (
       update vigie.digests d
          set status = case when s.sent > 0 or s.total = 0 then 'sent' else 'failed' end, sent_at = clock_timestamp()
         from s where d.id = $1 and d.status = 'pending' and s.pending = 0
       returning d.status, d.period
     )
     select coalesce((select status from u), (select status from vigie.digests where id = $1)) as status,
            coalesce((select period from u), (select period from vigie.digests where id = $1)) as period,
            exists (select 1 from u) as changed`,
    [digestId],
  );
  const r = rows[0];
  if (r?.changed) core.metrics.digests.inc({ period: r.period });
  return r?.status ?? 'pending';
}
