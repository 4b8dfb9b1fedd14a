import type { RunningNotifier } from '@vigie/notifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, ONCALL, OPS, visibleText, waitFor } from './support.js';

// Noise control: silences (still recorded), flapping damped, reminders while
// OPEN, storm groups reminded as a group.

const h = new Harness();
let notifier: RunningNotifier;

beforeAll(async () => {
  await h.setup();
  await h.startListener();
  notifier = await h.startNotifier({ VIGIE_REMINDER_HOURS: '0' });
});
afterAll(() => h.teardown());

const postsAbout = (tank: string) => h.slack.messages(OPS).filter((m) => m.text.includes(`Citerne : ${tank}`));
const mailsAbout = (tank: string) => h.smtp.mails.filter((m) => m.text.includes(`Citerne : ${tank}`));

async function silence(s: { rule?: string; entity?: string; minutes: number; reason: string }): Promise<number> {
  const { rows } = await h.admin.query<{ id: number }>(
    "insert into vigie.silences (check_code, entity_id, ends_at, reason, created_by) values ($1, $2, now() + make_interval(mins => $3), $4, 'test') returning id",
    [s.rule ?? null, s.entity ?? null, s.minutes, s.reason],
  );
  return rows[0]!.id;
}

describe('silences', () => {
  it('holds back the messages of a silenced rule but records the alert and its deliveries', async () => {
    const sid = await silence({ rule: 'STOCK_OVER_CAPACITY', minutes: 120, reason: 'Étalonnage TANK5' });
    const id = await h.openAlert({ checkCode: 'STOCK_OVER_CAPACITY', payload: { citerne: 'SIL-RULE', depot: 'Dépôt Daipn' } });
    const other = await h.openAlert({ checkCode: 'CITERNE_INACTIVE_USED', payload: { citerne: 'NOT-SILENCED', depot: 'Dépôt Daipn' } });
    await h.settled();
    expect(postsAbout('SIL-RULE')).toHaveLength(0);
    expect(mailsAbout('SIL-RULE')).toHaveLength(0);
    expect(postsAbout('NOT-SILENCED')).toHaveLength(1);
    const rows = await h.deliveries(`alert_id = '${id}'`);
    expect(rows.map((r) => [r.channel, r.recipient, r.status, r.reason])).toEqual([
      ['slack', OPS, 'silenced', `silence:${sid}`],
      ['email', ONCALL[0], 'silenced', `silence:${sid}`],
      ['email', ONCALL[1], 'silenced', `silence:${sid}`],
    ]);
    const alert = await h.admin.query('select status from public.system_alerts where id = $1', [id]);
    expect(alert.rows).toEqual([{ status: 'OPEN' }]);
    expect(other).toBeTruthy();
  });

  it('matches a silence by entity, whatever the rule', async () => {
    const entity = '7d1e0b70-1111-4000-8000-00000000abcd';
    await silence({ entity, minutes: 30, reason: 'Vidange citerne' });
    const id = await h.openAlert({ checkCode: 'PRODUCT_MIXING', entityId: entity, payload: { citerne: 'SIL-ENTITY' } });
    await h.settled();
    expect(postsAbout('SIL-ENTITY')).toHaveLength(0);
    expect((await h.deliveries(`alert_id = '${id}'`)).every((r) => r.status === 'silenced')).toBe(true);
  });

  it('sends the first message of a still-open alert once its silence is removed', async () => {
    const sid = await silence({ rule: 'JOURNAL_MISSING', minutes: 120, reason: 'Reprise du journal' });
    await h.openAlert({ checkCode: 'JOURNAL_MISSING', payload: { citerne: 'SIL-END', depot: 'Dépôt Daipn' } });
    await h.settled();
    expect(postsAbout('SIL-END')).toHaveLength(0);
    await h.admin.query("update vigie.silences set removed_at = now(), removed_by = 'test' where id = $1", [sid]);
    await waitFor(async () => postsAbout('SIL-END').length === 1, { what: 'message après la fin du silence', timeoutMs: 20_000 });
    await waitFor(async () => mailsAbout('SIL-END').length === 2, { what: 'e-mails après la fin du silence', timeoutMs: 20_000 });
    expect(mailsAbout('SIL-END').map((m) => m.subject)).toEqual([
      '[LOCAL] [RAPPEL] [CRITIQUE] JOURNAL_MISSING — SIL-END (Dépôt Daipn)',
      '[LOCAL] [RAPPEL] [CRITIQUE] JOURNAL_MISSING — SIL-END (Dépôt Daipn)',
    ]);
  });

  it('keeps an already posted message true during a silence (updated in place) without replies or emails', async () => {
    const id = await h.openAlert({ checkCode: 'SORTIE_STOCK_INSUFFISANT', entityType: 'SORTIE', payload: { citerne: 'SIL-LATE', depot: 'Dépôt Daipn' } });
    await waitFor(async () => postsAbout('SIL-LATE').length === 1 && mailsAbout('SIL-LATE').length === 2, { what: 'premier message', timeoutMs: 20_000 });
    const sid = await silence({ rule: 'SORTIE_STOCK_INSUFFISANT', minutes: 60, reason: 'Inventaire' });
    await h.resolve(id);
    await h.settled();
    const [message] = postsAbout('SIL-LATE');
    expect(message?.updates).toBe(1);
    expect(message?.replies).toEqual([]);
    expect(visibleText(message)).toContain('✅ Résolu automatiquement');
    expect(mailsAbout('SIL-LATE')).toHaveLength(2);
    const resolved = await h.deliveries(`alert_id = '${id}' and kind = 'resolved'`);
    expect(resolved.map((r) => [r.channel, r.action, r.status, r.reason])).toEqual([
      ['slack', 'update', 'sent', null],
      ['email', 'email', 'silenced', `silence:${sid}`],
      ['email', 'email', 'silenced', `silence:${sid}`],
    ]);
  });
});

describe('flapping', () => {
  it('after 3 reopenings within the hour, updates the message in place without thread replies or emails', async () => {
    const id = await h.openAlert({ checkCode: 'STOCK_DRIFT', payload: { citerne: 'FLAP', depot: 'Dépôt Daipn' } });
    await waitFor(async () => postsAbout('FLAP').length === 1, { what: 'premier message', timeoutMs: 20_000 });
    for (let i = 0; i < 3; i++) {
      await h.resolve(id);
      await h.reopen(id);
    }
    await h.resolve(id);
    await h.settled();
    const [message] = postsAbout('FLAP');
    expect(postsAbout('FLAP')).toHaveLength(1);
    // resolve, reopen#1, resolve, reopen#2, resolve → 5 replies; reopen#3 and the last resolve are damped.
    expect(message?.replies.map((r) => [...r.text][0])).toEqual(['✅', '🔁', '✅', '🔁', '✅']);
    expect(message?.updates).toBe(7);
    expect(visibleText(message)).toContain('*Instabilité*\n3 réouvertures en 60 min (messages atténués)');
    expect(visibleText(message)).toContain('✅ Résolu automatiquement');
    // Emails: opened, then resolve / reopen / resolve / reopen / resolve; reopen#3 and its resolve suppressed.
    expect(mailsAbout('FLAP')).toHaveLength(6 * ONCALL.length);
    const damped = await h.deliveries(`alert_id = '${id}' and channel = 'email' and status = 'suppressed'`);
    expect(damped.map((r) => [r.kind, r.reason])).toEqual([
      ['reopened', 'flapping'],
      ['reopened', 'flapping'],
      ['resolved', 'flapping'],
      ['resolved', 'flapping'],
    ]);
  });
});

describe('reminders', () => {
  it('reminds in the thread while the alert stays OPEN, and stops once it is acknowledged', { timeout: 60_000 }, async () => {
    await h.stopNotifier(notifier);
    // 0.0005 h = 1.8 s between reminders.
    notifier = await h.startNotifier({ VIGIE_REMINDER_HOURS: '0.0005' });
    const id = await h.openAlert({ checkCode: 'CDR_BLOCKED', entityType: 'CDR', payload: { citerne: 'REMIND', depot: 'Dépôt Daipn' } });
    await waitFor(async () => (postsAbout('REMIND')[0]?.replies.length ?? 0) >= 2, { what: 'deux rappels', timeoutMs: 30_000 });
    const [message] = postsAbout('REMIND');
    for (const r of message?.replies ?? []) expect(r.text).toMatch(/^⏰ Rappel : alerte toujours ouverte \(première détection le \d\d\/\d\d\/\d{4} \d\d:\d\d \(Africa\/Lubumbashi\)\)$/);
    // No reminder email by default.
    expect(mailsAbout('REMIND')).toHaveLength(2);
    await h.ack(id);
    await h.settled();
    const state = await h.admin.query('select status, next_reminder_at from vigie.notify_alerts where alert_id = $1', [id]);
    expect(state.rows).toEqual([{ status: 'ACK', next_reminder_at: null }]);
    const replies = postsAbout('REMIND')[0]?.replies.length ?? 0;
    const reminders = await h.deliveries(`alert_id = '${id}' and kind = 'reminder'`);
    expect(reminders.every((r) => r.idempotency_key.startsWith(`rem:${id}:1:`))).toBe(true);
    expect(new Set(reminders.map((r) => r.idempotency_key)).size).toBe(reminders.length);
    expect(postsAbout('REMIND')[0]?.replies.at(-1)?.text).toMatch(/^👀 Pris en charge/);
    expect(replies).toBe(reminders.filter((r) => r.status === 'sent').length + 1);
  });

  it('reminds a storm group in the group thread, not alert by alert', { timeout: 60_000 }, async () => {
    await h.openAlerts(Array.from({ length: 6 }, (_, i) => ({ checkCode: 'OWNER_MIXING', payload: { citerne: `MIX-${i}`, depot: 'Dépôt Daipn' } })));
    await waitFor(
      async () => {
        const grouped = h.slack.messages(OPS).find((m) => m.text.includes('OWNER_MIXING — Rafale'));
        return (grouped?.replies.length ?? 0) >= 1;
      },
      { what: 'rappel du groupe', timeoutMs: 30_000 },
    );
    const grouped = h.slack.messages(OPS).find((m) => m.text.includes('OWNER_MIXING — Rafale'));
    expect(grouped?.replies[0]?.text).toBe('⏰ Rappel : 5 alertes de ce groupe sur 5 toujours ouvertes');
    const leader = h.slack.messages(OPS).filter((m) => m.text.includes('OWNER_MIXING') && !m.text.includes('Rafale'));
    expect(leader).toHaveLength(1);
  });
});
