import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, ONCALL, OPS, visibleText, waitFor } from './support.js';

// A storm: 200 findings of one rule. The first CRITICAL goes out at once,
// the rest of its group is batched into one message per destination.

const h = new Harness();
// Long enough for the 200 findings to be planned within one window on a slow machine.
const WINDOW_S = 10;

beforeAll(async () => {
  await h.setup();
  await h.startListener();
  await h.startNotifier({ VIGIE_STORM_WINDOW_S: String(WINDOW_S) });
});
afterAll(() => h.teardown());

describe('storms', () => {
  it('200 findings of one rule in one write: the first at once, the other 199 in one grouped message', { timeout: 120_000 }, async () => {
    const ids = await h.openAlerts(
      Array.from({ length: 200 }, (_, i) => ({
        payload: { depot: 'Dépôt Daipn', citerne: `T${String(i + 1).padStart(3, '0')}`, produit: 'Gasoil/AGO', stock_15c: -5 - i },
      })),
    );
    expect(ids).toHaveLength(200);
    await h.settled({ timeoutMs: 90_000 });

    const messages = h.slack.messages(OPS);
    expect(messages).toHaveLength(2);
    const [first, grouped] = messages;
    // The first message is one alert of its own, posted without waiting for the group.
    expect(visibleText(first)).toMatch(/\*Citerne\*\nT\d{3}/);
    const leader = await h.admin.query<{ decision: string; held: boolean }>(
      `select nt.decision, (d.next_attempt_at > d.created_at + interval '1 second') as held
         from vigie.notify_transitions nt join vigie.deliveries d on d.transition_id = nt.transition_id and d.channel = 'slack'
        where nt.decision = 'notify'`,
    );
    expect(leader.rows).toEqual([{ decision: 'notify', held: false }]);
    // The grouped message counts the rest and names them.
    const seen = visibleText(grouped);
    expect(seen).toContain(`STOCK_NEGATIF — Rafale : 199 alertes en ${WINDOW_S} s`);
    expect(seen).toContain('*Alertes regroupées*\n199');
    expect(seen).toContain('*Dépôt*\nDépôt Daipn');
    expect(seen).toMatch(/Concernées : T\d{3} \(Dépôt Daipn\), .* et 184 autres\./);
    expect(seen).toContain("Ouvrir l'écran d'intégrité");

    // Email: the first alert and the group, once per on-call address.
    const subjects = h.smtp.mails.map((m) => `${m.envelope.to[0]} ${m.subject}`).sort();
    expect(subjects).toHaveLength(4);
    for (const to of ONCALL) {
      expect(subjects.filter((s) => s.startsWith(`${to} `))).toHaveLength(2);
      expect(subjects).toContain(`${to} [LOCAL] [CRITIQUE] STOCK_NEGATIF — 199 alertes (groupe ${(await groupId())})`);
    }

    // Every finding is still recorded: one ledger row per transition × channel × recipient.
    const { rows } = await h.admin.query<{ status: string; reason: string | null; n: number }>(
      `select status, reason, count(*)::int as n from vigie.deliveries where source = 'transition' group by 1, 2 order by 1, 2`,
    );
    expect(rows).toEqual([
      { status: 'sent', reason: null, n: 3 },
      { status: 'suppressed', reason: 'grouped', n: 199 * 3 },
    ]);

    // Acknowledging part of the storm: no new message, the grouped message is updated in place with where its alerts stand.
    const group = await groupId();
    await h.admin.query(
      `update public.system_alerts set status = 'ACK', acknowledged_at = now()
        where id in (select alert_id from vigie.notify_alerts where group_id = $1 order by alert_id limit 50)`,
      [group],
    );
    await h.settled({ timeoutMs: 60_000 });
    expect(h.slack.messages(OPS)).toHaveLength(2);
    const acked = h.slack.messages(OPS)[1];
    expect(acked?.updates).toBeGreaterThanOrEqual(1);
    expect(visibleText(acked)).toContain('*État du groupe*\n149 ouvertes · 50 prises en charge · 0 résolue');
    expect(visibleText(acked)).toContain('🔔 Ouvert');
    expect(acked?.replies).toHaveLength(0);
    // No email for these updates (the digest tells managers).
    expect(h.smtp.mails).toHaveLength(4);

    // Resolving the storm does not start another one in Slack; the grouped message says it is over, once, in its thread.
    await h.admin.query("update public.system_alerts set status = 'RESOLVED', resolved_at = now() where check_code = 'STOCK_NEGATIF'");
    await h.settled({ timeoutMs: 60_000 });
    expect(h.slack.messages(OPS)).toHaveLength(2);
    expect(h.slack.messages(OPS)[0]?.replies).toHaveLength(1);
    const resolved = h.slack.messages(OPS)[1];
    expect(visibleText(resolved)).toContain('*État du groupe*\n0 ouverte · 0 prise en charge · 199 résolues');
    expect(visibleText(resolved)).toContain('✅ Résolu');
    expect(resolved?.replies.map((r) => r.text)).toEqual(['✅ Les 199 alertes du groupe sont résolues']);
    // Email: only the first alert's own resolution (it went out on its own), not the grouped ones'.
    const later = h.smtp.mails.slice(4).map((m) => `${m.envelope.to[0]} ${m.subject}`).sort();
    expect(later).toHaveLength(2);
    for (const line of later) expect(line).toMatch(/^\S+ \[LOCAL\] \[RÉSOLU\] \[CRITIQUE\] STOCK_NEGATIF — T\d{3} \(Dépôt Daipn\)$/);
  });

  it('a storm that keeps going sends a bounded number of messages: one per window', { timeout: 120_000 }, async () => {
    const before = h.slack.messages(OPS).length;
    const started = Date.now();
    for (let b = 0; b < 10; b++) {
      await h.openAlerts(
        Array.from({ length: 20 }, (_, i) => ({ checkCode: 'SORTIE_ECART_15C', entityType: 'SORTIE', payload: { depot: 'Dépôt Daipn', citerne: `S${b}-${i}` } })),
      );
      await new Promise((r) => setTimeout(r, 400));
    }
    const elapsedS = (Date.now() - started) / 1000;
    await h.settled({ timeoutMs: 90_000 });
    const sent = h.slack.messages(OPS).length - before;
    // At most the leader plus one grouped message per window the storm lasted (plus the last one).
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(2 + Math.ceil(elapsedS / WINDOW_S));
    const { rows } = await h.admin.query<{ n: number }>("select count(*)::int as n from vigie.notify_transitions nt join vigie.alert_transitions t on t.id = nt.transition_id where t.check_code = 'SORTIE_ECART_15C'");
    expect(rows[0]?.n).toBe(200);
  });
});

describe('alerts of a storm handled before its window ends', () => {
  it('the grouped message shows them as handled from the start', { timeout: 120_000 }, async () => {
    const before = h.slack.messages(OPS).length;
    const ids = await h.openAlerts(
      Array.from({ length: 20 }, (_, i) => ({
        checkCode: 'STOCK_OVER_CAPACITY',
        payload: { depot: 'Dépôt Daipn', citerne: `C${String(i + 1).padStart(2, '0')}`, produit: 'Gasoil/AGO' },
      })),
    );
    // Five of the held ones (not the first, which went out on its own) are resolved within the window.
    await waitFor(async () => {
      const { rows } = await h.admin.query<{ n: number }>(
        "select count(*)::int as n from vigie.notify_transitions nt join vigie.alert_transitions t on t.id = nt.transition_id where t.check_code = 'STOCK_OVER_CAPACITY' and nt.decision = 'held'",
      );
      return rows[0]?.n === 19;
    }, { what: 'alertes retenues par la rafale', timeoutMs: 20_000 });
    const { rows: held } = await h.admin.query<{ alert_id: string }>(
      "select alert_id from vigie.notify_alerts where check_code = 'STOCK_OVER_CAPACITY' and group_id is not null order by alert_id limit 5",
    );
    for (const r of held) await h.resolve(r.alert_id);
    await h.settled({ timeoutMs: 60_000 });
    const posted = h.slack.messages(OPS).slice(before);
    expect(posted).toHaveLength(2);
    expect(ids).toHaveLength(20);
    const grouped = posted[1];
    expect(visibleText(grouped)).toContain('Rafale : 19 alertes');
    expect(visibleText(grouped)).toContain('*État du groupe*\n14 ouvertes · 0 prise en charge · 5 résolues');
    expect(visibleText(grouped)).toContain('🔔 Ouvert');
  });
});

async function groupId(): Promise<number> {
  const { rows } = await h.admin.query<{ id: number }>("select id from vigie.notify_groups where mode = 'grouped' order by id limit 1");
  await waitFor(async () => rows.length > 0, { what: 'groupe' });
  return rows[0]!.id;
}
