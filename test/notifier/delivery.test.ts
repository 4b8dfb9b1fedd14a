import type { RunningNotifier } from '@vigie/notifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, ONCALL, OPS, SECURITY, SECURITY_LIST, STAGING, buttonUrl, visibleText, waitFor } from './support.js';

// One alert's life as people see it: the CRITICAL message in Slack and the
// on-call emails, then ACK, RESOLVE and reopen updating the same message and
// replying in its thread. Real @slack/web-api against the local Slack test
// server, real nodemailer against the local SMTP server.

const h = new Harness();
let notifier: RunningNotifier;

beforeAll(async () => {
  await h.setup();
  await h.startListener();
  notifier = await h.startNotifier();
});
afterAll(() => h.teardown());

describe('a CRITICAL integrity alert', () => {
  let alertId: string;
  let valery: string;

  it('goes to the ops channel in French with what, where, the numbers, the first detection time, the link and the release', async () => {
    alertId = await h.openAlert({
      message: 'Stock négatif sur TANK1',
      detectedAt: new Date('2026-11-23T12:05:00Z'),
      payload: {
        message_fr: 'Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.',
        message_en: 'TANK1 (MONALUXE) book stock fell below zero.',
        depot: 'Dépôt Daipn',
        citerne: 'TANK1',
        produit: 'Gasoil/AGO',
        proprietaire: 'MONALUXE',
        stock_ambiant: -1180,
        stock_15c: -1250.5,
        threshold: 0,
      },
    });
    await h.slack.waitForCalls(1, { method: 'chat.postMessage', timeoutMs: 20_000 });
    const [message] = h.slack.messages(OPS);
    expect(h.slack.messages(OPS)).toHaveLength(1);
    const seen = visibleText(message);
    for (const line of [
      '[LOCAL] 🔴 STOCK_NEGATIF — Stock négatif sur TANK1',
      '*CRITIQUE* · 🔔 Ouvert, en attente de prise en charge',
      'Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.',
      '*Dépôt*\nDépôt Daipn',
      '*Citerne*\nTANK1',
      '*Produit*\nGasoil/AGO',
      '*Propriétaire*\nMONALUXE',
      '*Stock ambiant*\n-1',
      '*Stock à 15 °C*\n-1',
      '*Seuil*\n0',
      '*Première détection*\n23/11/2026 14:05 (Africa/Lubumbashi)',
      "Ouvrir l'écran d'intégrité",
      `Vigie · env local · release rel-test-42 · alerte ${alertId}`,
    ]) {
      expect(seen).toContain(line);
    }
    expect(buttonUrl(message)).toBe('https://monaluxe.app/governance/integrity');
    expect(message?.text).toContain('Citerne : TANK1');
  });

  it('is emailed at once to each on-call address, in HTML and plain text', async () => {
    const mails = await h.smtp.waitForMails(2, { timeoutMs: 20_000 });
    expect(mails.flatMap((m) => m.envelope.to).sort()).toEqual([...ONCALL].sort());
    for (const m of mails) {
      expect(m.subject).toBe('[LOCAL] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)');
      expect(m.from).toBe('vigie@monaluxe.test');
      expect(m.text).toContain('Nouvelle alerte');
      expect(m.text).toContain('Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.');
      expect(m.text).toContain('Première détection : 23/11/2026 14:05 (Africa/Lubumbashi)');
      expect(m.text).toContain('https://monaluxe.app/governance/integrity');
      expect(m.html).toContain('TANK1');
      expect(m.html).toContain('href="https://monaluxe.app/governance/integrity"');
    }
  });

  it('ACK from the ML_PP screen updates the same message and replies in its thread, with who took it', async () => {
    valery = await h.person('Valery K.');
    await h.ack(alertId, valery);
    await waitFor(async () => (h.slack.messages(OPS)[0]?.replies.length ?? 0) >= 1, { what: 'réponse ACK', timeoutMs: 20_000 });
    const [message] = h.slack.messages(OPS);
    expect(h.slack.messages(OPS)).toHaveLength(1);
    expect(message?.updates).toBe(1);
    expect(visibleText(message)).toContain('👀 Pris en charge par Valery K.');
    expect(message?.replies[0]?.text).toMatch(/^👀 Pris en charge par Valery K\. le \d\d\/\d\d\/\d{4} \d\d:\d\d \(Africa\/Lubumbashi\)$/);
    await h.settled();
    // No email for an acknowledgement (the person who took it knows).
    expect(h.smtp.mails).toHaveLength(2);
  });

  it('RESOLVE updates it again, replies in the thread and tells the on-call list', async () => {
    await h.resolve(alertId, null);
    await waitFor(async () => (h.slack.messages(OPS)[0]?.replies.length ?? 0) >= 2, { what: 'réponse RESOLVE', timeoutMs: 20_000 });
    const [message] = h.slack.messages(OPS);
    expect(message?.updates).toBe(2);
    expect(message?.replies[1]?.text).toMatch(/^✅ Résolu automatiquement le /);
    expect(visibleText(message)).toContain('✅ Résolu automatiquement');
    const mails = await h.smtp.waitForMails(4, { timeoutMs: 20_000 });
    const resolved = mails.slice(2);
    expect(resolved.map((m) => m.subject)).toEqual([
      '[LOCAL] [RÉSOLU] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[LOCAL] [RÉSOLU] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
    ]);
    // Each address's resolution email answers that address's alert email: mail clients show one conversation.
    for (const m of resolved) {
      const first = mails.slice(0, 2).find((o) => o.envelope.to[0] === m.envelope.to[0]);
      expect(first?.messageId).toMatch(/^<[0-9a-f]{32}\.vigie@monaluxe\.test>$/);
      expect(m.headers['in-reply-to']).toBe(first?.messageId);
      expect(m.messageId).not.toBe(first?.messageId);
    }
  });

  it('a reopen the same day updates the same message (one message per cycle) and replies in its thread', async () => {
    await h.reopen(alertId);
    await waitFor(async () => (h.slack.messages(OPS)[0]?.replies.length ?? 0) >= 3, { what: 'réponse réouverture', timeoutMs: 20_000 });
    await h.settled();
    expect(h.slack.messages(OPS)).toHaveLength(1);
    const [message] = h.slack.messages(OPS);
    expect(message?.replies[2]?.text).toMatch(/^🔁 Alerte rouverte : le problème est de nouveau détecté le /);
    expect(visibleText(message)).toContain('🔔 Ouvert, en attente de prise en charge');
    expect(h.smtp.mails.slice(4).map((m) => m.subject)).toEqual([
      '[LOCAL] [ROUVERT] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[LOCAL] [ROUVERT] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
    ]);
  });

  it('records every delivery in the ledger with its idempotency key and provider ids', async () => {
    const rows = await h.deliveries(`alert_id = '${alertId}'`);
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
    const post = rows.find((r) => r.action === 'post');
    expect(post?.provider).toBe('slack');
    expect(post?.provider_ts).toBe(h.slack.messages(OPS)[0]?.ts);
    expect(post?.idempotency_key).toMatch(new RegExp(`^tr:\\d+:slack:${OPS}$`));
    const emails = rows.filter((r) => r.channel === 'email');
    expect(emails).toHaveLength(6);
    expect(emails.every((r) => r.provider === 'smtp' && r.provider_message_id)).toBe(true);
    expect(rows.filter((r) => r.action === 'update_reply').every((r) => r.thread_ts === post?.provider_ts)).toBe(true);
  });
});

describe('routing', () => {
  it('sends a CRITICAL security finding to the security channel and the security list', async () => {
    const before = h.smtp.mails.length;
    await h.openAlert({
      checkCode: 'ROLE_SELF_ESCALATION',
      entityType: 'PROFIL',
      message: 'Auto-promotion en admin',
      payload: { family: 'security', message_fr: 'jdoe s’est attribué le rôle admin.', user: 'jdoe@monaluxe.app', ip: '41.243.10.7' },
    });
    await waitFor(async () => h.slack.messages(SECURITY).length === 1, { what: 'message sécurité', timeoutMs: 20_000 });
    const seen = visibleText(h.slack.messages(SECURITY)[0]);
    expect(seen).toContain('*Utilisateur*\njdoe@monaluxe.app');
    expect(seen).toContain('*Adresse IP*\n41.243.10.7');
    const mails = await h.smtp.waitForMails(before + 1, { timeoutMs: 20_000 });
    expect(mails.slice(before).map((m) => m.envelope.to)).toEqual([SECURITY_LIST]);
    expect(mails[before]?.subject).toBe('[LOCAL] [CRITIQUE] ROLE_SELF_ESCALATION — jdoe@monaluxe.app (41.243.10.7)');
    expect(h.slack.messages(OPS)).toHaveLength(1);
  });

  it('keeps WARN alerts for the digest and the ML_PP screen: no message, nothing lost', async () => {
    const calls = h.slack.calls.filter((c) => c.method === 'chat.postMessage').length;
    const mails = h.smtp.mails.length;
    const id = await h.openAlert({ severity: 'WARN', checkCode: 'CDR_ARRIVE_STALE', entityType: 'CDR' });
    await h.settled();
    expect(h.slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(calls);
    expect(h.smtp.mails).toHaveLength(mails);
    const { rows } = await h.admin.query("select decision from vigie.notify_transitions where alert_id = $1", [id]);
    expect(rows).toEqual([{ decision: 'digest_only' }]);
  });

  it('routes staging elsewhere and marks it unmistakably; English on request', async () => {
    await h.stopNotifier(notifier);
    notifier = await h.startNotifier({ APP_ENV: 'staging', SLACK_CHANNEL_STAGING: STAGING, VIGIE_LANG: 'en' });
    const before = h.smtp.mails.length;
    await h.openAlert({
      checkCode: 'STOCK_OVER_CAPACITY',
      payload: { message_en: 'TANK5 holds 312,000 L for 300,000 L of capacity.', depot: 'Dépôt Daipn', citerne: 'TANK5', capacite_totale: 300000, stock_15c: 312000 },
    });
    await waitFor(async () => h.slack.messages(STAGING).length === 1, { what: 'message staging', timeoutMs: 20_000 });
    const [message] = h.slack.messages(STAGING);
    const seen = visibleText(message);
    expect(seen).toContain("⚠️ STAGING — test environment, not production");
    expect(seen).toContain('[STAGING] 🔴 STOCK_OVER_CAPACITY — Tank above capacity on TANK5');
    expect(seen).toContain('*Total capacity*\n300,000 L');
    expect(seen).toContain('TANK5 holds 312,000 L for 300,000 L of capacity.');
    expect(seen).toContain('env staging · release rel-test-42');
    expect(h.slack.messages(OPS)).toHaveLength(1);
    const mails = await h.smtp.waitForMails(before + 2, { timeoutMs: 20_000 });
    expect(mails[before]?.subject).toBe('[STAGING] [CRITICAL] STOCK_OVER_CAPACITY — TANK5 (Dépôt Daipn)');
  });
});
