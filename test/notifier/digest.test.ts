import { Producer, createRedis } from '@vigie/queue';
import { testRedisUrl } from '@vigie/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECTEUR, Harness, MANAGERS, waitFor } from './support.js';

// Digests: the figures managers read (open alerts by severity, opened and
// resolved, time to detect / acknowledge / resolve, per dépôt and citerne),
// exactly once per period with two replicas and a restart in the middle.

const h = new Harness();
let producer: Producer;
let redis: ReturnType<typeof createRedis>;
let routingFile = '';

/** A day of ML_PP (times UTC; Lubumbashi is UTC+2). The daily period 2026-11-23 runs 22/11 07:00 → 23/11 07:00 local. */
async function history(): Promise<void> {
  const valery = await h.person('Valery K.');
  const a = await h.openAlert({ checkCode: 'STOCK_NEGATIF', payload: { depot: 'Dépôt Daipn', citerne: 'TANK1', stock_15c: -1250 } });
  const b = await h.openAlert({ checkCode: 'STOCK_OVER_CAPACITY', payload: { depot: 'Dépôt Daipn', citerne: 'TANK5', stock_15c: 312000 } });
  const c = await h.openAlert({ checkCode: 'CDR_ARRIVE_STALE', severity: 'WARN', entityType: 'CDR', payload: { depot: 'Dépôt Daipn' } });
  const d = await h.openAlert({ checkCode: 'SORTIE_ECART_15C', severity: 'WARN', entityType: 'SORTIE', payload: { depot: 'Dépôt Daipn', citerne: 'TANK2', vigie: null } });
  await h.ack(a, valery);
  await h.resolve(a);
  await h.resolve(c);
  const set = (alert: string, kind: string, at: string, source?: string) =>
    h.admin.query('update vigie.alert_transitions set at = $3, first_detected_at = $4, source_event_at = $5 where alert_id = $1 and kind = $2', [
      alert,
      kind,
      at,
      null,
      source ?? null,
    ]);
  // A: detected in 2 s, acknowledged after 15 min, resolved after 2 h 05.
  await set(a, 'opened', '2026-11-22T08:00:00Z', '2026-11-22T07:59:58Z');
  await set(a, 'acknowledged', '2026-11-22T08:15:00Z');
  await set(a, 'resolved', '2026-11-22T10:05:00Z');
  // B: detected in 4 s, still open.
  await set(b, 'opened', '2026-11-22T12:00:00Z', '2026-11-22T11:59:56Z');
  // C: opened the day before, resolved after 8 h.
  await set(c, 'opened', '2026-11-21T22:00:00Z');
  await set(c, 'resolved', '2026-11-22T06:00:00Z');
  // D: no source event time (not in the time to detect), still open.
  await set(d, 'opened', '2026-11-22T15:00:00Z');
  await h.admin.query("update vigie.alert_transitions set first_detected_at = at where kind = 'opened'");
  await h.admin.query(
    `update public.system_alerts s set first_detected_at = t.at, last_detected_at = t.at
       from vigie.alert_transitions t where t.alert_id = s.id and t.kind = 'opened'`,
  );
}

beforeAll(async () => {
  await h.setup();
  redis = createRedis(testRedisUrl, 'producer');
  producer = new Producer(redis, h.prefix);
  // Alerts are not routed anywhere here: this file is about digests.
  routingFile = h.routingFile({ routes: [{ name: 'digest-only', match: {}, slack: [], email: [] }], digest: { daily: { email: ['managers'], slack: ['ops'] } } });
  await history();
});
afterAll(async () => {
  await producer?.close();
  redis?.disconnect();
  await h.teardown();
});

const digestMails = () => h.smtp.mails.filter((m) => m.subject.includes('Synthèse'));

describe('daily digest', () => {
  it('is sent exactly once per manager with two replicas, duplicate jobs and a restart in the middle', { timeout: 90_000 }, async () => {
    const env = { VIGIE_ROUTING_FILE: routingFile };
    const a = await h.startNotifier(env);
    await h.smtp.stop();
    // Both replicas' ticks asked for the same period (the job id normally dedupes; here it does not).
    for (const id of ['digest-daily-2026-11-23', 'digest-daily-2026-11-23-again']) {
      await producer.add('notify.digest', { period: 'daily', periodKey: '2026-11-23', force: false }, { jobId: id });
    }
    await waitFor(
      async () => {
        const { rows } = await h.admin.query<{ n: number }>("select count(*)::int as n from vigie.deliveries where source = 'digest' and channel = 'email' and attempts >= 1");
        return rows[0]?.n === MANAGERS.length;
      },
      { what: 'synthèse en attente (SMTP arrêté)', timeoutMs: 20_000 },
    );
    // Restart in the middle: one replica stops, the SMTP server comes back, two replicas run.
    await h.stopNotifier(a);
    await h.smtp.restart();
    await h.startNotifier(env);
    await h.startNotifier(env);
    await waitFor(
      async () => {
        const { rows } = await h.admin.query<{ status: string }>("select status from vigie.digests where period = 'daily' and period_key = '2026-11-23'");
        return rows[0]?.status === 'sent';
      },
      { what: 'synthèse envoyée', timeoutMs: 45_000 },
    );
    const mails = digestMails();
    expect(mails.map((m) => m.envelope.to[0]).sort()).toEqual([...MANAGERS].sort());
    // The Slack summary went once too.
    expect(h.slack.messages('C0OPS').filter((m) => m.text.includes('Synthèse quotidienne'))).toHaveLength(1);
    const { rows } = await h.admin.query<{ n: number }>('select count(*)::int as n from vigie.digests');
    expect(rows[0]?.n).toBe(1);
  });

  it('shows the figures of the period', async () => {
    const [mail] = digestMails();
    expect(mail?.subject).toBe('[LOCAL] Vigie — Synthèse quotidienne — 23/11/2026 — Alertes ouvertes : 1 critique, 1 avertissement');
    const text = mail?.text ?? '';
    for (const line of [
      'du 22/11/2026 07:00 au 23/11/2026 07:00 (Africa/Lubumbashi)',
      'Alertes ouvertes : 1 critique, 1 avertissement',
      'Nouvelles : 3 · Résolues : 2',
      'Délai moyen de détection (MTTD) : 3 s',
      'Délai moyen de prise en charge (MTTA) : 15 min',
      'Délai moyen de résolution (MTTR) : 5 h 03 min',
      'Ouvertes pendant la période (3)',
      'Résolues pendant la période (2)',
      'Toujours ouvertes (2)',
      '  - Dépôt Daipn · TANK1 · 0 · 1 · 1',
      '  - Dépôt Daipn · TANK2 · 1 · 1 · 0',
      '  - Dépôt Daipn · TANK5 · 1 · 1 · 0',
      '  - Dépôt Daipn · — · 0 · 0 · 1',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/🔴 CRITIQUE · STOCK_NEGATIF · TANK1 \(Dépôt Daipn\) · Stock négatif sur TANK1 · 22\/11\/2026 10:00/);
    expect(mail?.html).toContain('<table');
  });
});

describe('weekly digest', () => {
  it('goes to the directeur, once', { timeout: 60_000 }, async () => {
    await producer.add('notify.digest', { period: 'weekly', periodKey: 'W2026-11-23', force: false }, { jobId: 'digest-weekly-W2026-11-23' });
    await waitFor(async () => digestMails().some((m) => m.subject.includes('hebdomadaire')), { what: 'synthèse hebdomadaire', timeoutMs: 30_000 });
    await h.settled();
    const weekly = digestMails().filter((m) => m.subject.includes('hebdomadaire'));
    expect(weekly.map((m) => m.envelope.to)).toEqual([DIRECTEUR]);
    expect(weekly[0]?.text).toContain('du 16/11/2026 07:00 au 23/11/2026 07:00 (Africa/Lubumbashi)');
    expect(weekly[0]?.text).toContain('Nouvelles : 4 · Résolues : 2');
  });
});
