import { type SmtpServer, startSmtpServer } from '@vigie/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmailChannel, type EmailChannel, mailDomain } from './email.js';
import { PermanentDeliveryError, TransientDeliveryError } from './errors.js';
import { dailyDigest, loginAlert, production, staging, stockAlert } from './test-fixtures.js';

let smtp: SmtpServer;
let email: EmailChannel;

beforeEach(async () => {
  smtp = await startSmtpServer();
  email = createEmailChannel({ smtpUrl: smtp.url, from: 'Vigie <vigie@monaluxe.app>', timeoutMs: 2_000 });
});

afterEach(async () => {
  email.close();
  await smtp.close();
});

/** The HTML as a reader sees it: tags dropped, entities decoded, spaces collapsed. */
function readable(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('email channel', () => {
  it('gives a message the same Message-ID for the same token, and threads a follow-up under its root', async () => {
    await email.sendAlert(['astreinte@monaluxe.app'], stockAlert(), production, 'opened', { id: 'alert:42:1:email:astreinte@monaluxe.app' });
    // Sent again after an unknown outcome: the same message for the mailbox.
    await email.sendAlert(['astreinte@monaluxe.app'], stockAlert(), production, 'opened', { id: 'alert:42:1:email:astreinte@monaluxe.app' });
    await email.sendAlert(['astreinte@monaluxe.app'], stockAlert(), production, 'resolved', {
      id: 'tr:77:email:astreinte@monaluxe.app',
      inReplyTo: 'alert:42:1:email:astreinte@monaluxe.app',
    });
    const [root, again, resolved] = await smtp.waitForMails(3);
    expect(root?.messageId).toMatch(/^<[0-9a-f]{32}\.vigie@monaluxe\.app>$/);
    expect(again?.messageId).toBe(root?.messageId);
    expect(resolved?.messageId).toMatch(/^<[0-9a-f]{32}\.vigie@monaluxe\.app>$/);
    expect(resolved?.messageId).not.toBe(root?.messageId);
    expect(resolved?.headers['in-reply-to']).toBe(root?.messageId);
    expect(resolved?.headers.references).toBe(root?.messageId);
    expect(root?.headers['in-reply-to']).toBeUndefined();
  });

  it('takes the Message-ID domain from the sender address', () => {
    expect(mailDomain('Vigie <vigie@Monaluxe.app>')).toBe('monaluxe.app');
    expect(mailDomain('alertes@depot.monaluxe.app')).toBe('depot.monaluxe.app');
    expect(mailDomain('Vigie')).toBe('vigie.local');
  });

  it('sends an alert with a subject, text and HTML people can act on', async () => {
    const result = await email.sendAlert(['directeur@monaluxe.app', 'astreinte@monaluxe.app'], stockAlert(), production, 'opened');

    const [mail] = await smtp.waitForMails(1);
    expect(result).toEqual({ messageId: mail?.messageId, accepted: ['directeur@monaluxe.app', 'astreinte@monaluxe.app'], rejected: [] });
    expect(mail?.from).toBe('vigie@monaluxe.app');
    expect(mail?.to).toEqual(['directeur@monaluxe.app', 'astreinte@monaluxe.app']);
    expect(mail?.subject).toBe('[CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)');
    for (const line of [
      'Nouvelle alerte',
      'Statut : 🔔 Ouvert, en attente de prise en charge',
      'Dépôt : Dépôt Daipn',
      'Citerne : TANK1',
      'Produit : Gasoil/AGO',
      'Propriétaire : MONALUXE',
      'Stock ambiant : -1 180 L',
      'Seuil : -0,01 L',
      'Première détection : 23/11/2026 14:05 (Africa/Lubumbashi)',
      "Ouvrir l'écran d'intégrité : https://monaluxe.app/governance/integrity",
      '— Vigie · env production · release v1.4.2-3f2a9c1 · alerte 42',
    ]) {
      expect(mail?.text).toContain(line);
    }
    const html = readable(mail?.html ?? '');
    for (const words of [
      'Nouvelle alerte',
      '🔴 CRITIQUE · STOCK_NEGATIF — Stock négatif sur TANK1',
      'Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.',
      'Citerne TANK1',
      'Stock à 15 °C -1 250,0 L',
      'Première détection 23/11/2026 14:05 (Africa/Lubumbashi)',
      "Ouvrir l'écran d'intégrité",
      'Vigie · env production · release v1.4.2-3f2a9c1 · alerte 42',
    ]) {
      expect(html).toContain(words);
    }
    expect(mail?.html).toContain('href="https://monaluxe.app/governance/integrity"');
    expect(html).not.toContain('STAGING');
  });

  it('marks staging mail in the subject and with a banner', async () => {
    await email.sendAlert(['ops@monaluxe.app'], stockAlert(), staging, 'opened');
    const [mail] = await smtp.waitForMails(1);
    expect(mail?.subject).toBe('[STAGING] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)');
    expect(readable(mail?.html ?? '')).toContain("⚠️ STAGING — environnement de recette, ce n'est pas la production");
    expect(mail?.text).toContain('env staging · release rc-8d1e0b7');
  });

  it('says what changed in the subject of a transition', async () => {
    const resolved = stockAlert({ status: 'RESOLVED', resolvedBy: 'Valery K.', resolvedAt: new Date('2026-11-23T14:10:00Z') });
    await email.sendAlert(['ops@monaluxe.app'], resolved, production, 'resolved');
    await email.sendAlert(['securite@monaluxe.app'], loginAlert(), production, 'reminder');
    const [first, second] = await smtp.waitForMails(2);
    expect(first?.subject).toBe('[RÉSOLU] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)');
    expect(first?.text).toContain('Statut : ✅ Résolu par Valery K. le 23/11/2026 16:10 (Africa/Lubumbashi)');
    expect(second?.subject).toBe('[RAPPEL] [CRITIQUE] AUTH_BRUTE_FORCE — jdoe@monaluxe.app (41.243.10.7)');
    expect(second?.text).toContain('⏰ Rappel : alerte toujours ouverte');
    expect(second?.text).toContain('Adresse IP : 41.243.10.7');
  });

  it('escapes data in the HTML', async () => {
    await email.sendAlert(['ops@monaluxe.app'], stockAlert({ where: { citerne: '<script>alert(1)</script>' } }), production, 'opened');
    const [mail] = await smtp.waitForMails(1);
    expect(mail?.html).not.toContain('<script>');
    expect(mail?.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('sends a daily digest with its figures as tables and text', async () => {
    await email.sendDigest(['directeur@monaluxe.app'], dailyDigest(), production);
    const [mail] = await smtp.waitForMails(1);
    expect(mail?.subject).toBe('Vigie — Synthèse quotidienne — 23/11/2026 — Alertes ouvertes : 2 critiques, 3 avertissements');
    const html = readable(mail?.html ?? '');
    for (const words of [
      'du 23/11/2026 00:00 au 24/11/2026 00:00 (Africa/Lubumbashi)',
      'Alertes ouvertes 2 critiques, 3 avertissements',
      'Nouvelles 2',
      'Résolues 1',
      'Délai moyen de détection (MTTD) 2 s',
      'Délai moyen de prise en charge (MTTA) 15 min',
      'Délai moyen de résolution (MTTR) 2 h 05 min',
      'Ouvertes pendant la période (2)',
      'STOCK_NEGATIF TANK1 (Dépôt Daipn) Stock négatif sur TANK1 23/11/2026 14:05',
      'Résolues pendant la période (1)',
      'STOCK_OVER_CAPACITY TANK5 (Dépôt Daipn) Citerne TANK5 au-dessus de sa capacité 23/11/2026 18:30',
      'Toujours ouvertes (2)',
      '👀 Pris en charge par Valery K.',
      'Par emplacement Dépôt Citerne Ouvertes Nouvelles Résolues Dépôt Daipn TANK1 1 1 0 Dépôt Daipn TANK5 0 0 1',
      'Vigie · env production · release v1.4.2-3f2a9c1',
    ]) {
      expect(html).toContain(words);
    }
    expect(mail?.html).toMatch(/<table[^>]*><thead><tr><th[^>]*>Dépôt<\/th>/);
    expect(mail?.text).toContain('Délai moyen de résolution (MTTR) : 2 h 05 min');
    expect(mail?.text).toContain('  - Dépôt Daipn · TANK5 · 0 · 0 · 1');
  });

  it('renders a weekly digest in English, with unmeasured delays and empty sections', async () => {
    const digest = {
      ...dailyDigest(),
      period: 'weekly' as const,
      from: new Date('2026-11-16T22:00:00Z'),
      resolved: [],
      mttaSeconds: null,
      byLocation: [],
    };
    await email.sendDigest(['directeur@monaluxe.app'], digest, { ...staging, lang: 'en' });
    const [mail] = await smtp.waitForMails(1);
    expect(mail?.subject).toBe('[STAGING] Vigie — Weekly summary — from 2026-11-17 to 2026-11-23 — Open alerts: 2 critical, 3 warnings');
    expect(mail?.text).toContain('Mean time to acknowledge (MTTA): —');
    expect(mail?.text).toContain('Resolved during the period (0)\n  None');
    expect(readable(mail?.html ?? '')).toContain('By location None');
  });

  it('reports recipients the server refused while others got the mail', async () => {
    smtp.rejectRecipients('gerant@monaluxe.app');
    const result = await email.sendAlert(['directeur@monaluxe.app', 'gerant@monaluxe.app'], stockAlert(), production, 'opened');
    expect(result.accepted).toEqual(['directeur@monaluxe.app']);
    expect(result.rejected).toEqual(['gerant@monaluxe.app']);
    expect((await smtp.waitForMails(1))[0]?.envelope.to).toEqual(['directeur@monaluxe.app']);
  });

  it('fails permanently when every recipient is refused (5xx), transiently on a 4xx', async () => {
    smtp.rejectRecipients(/@ancien-domaine\.cd$/);
    const error = await email.sendAlert(['x@ancien-domaine.cd'], stockAlert(), production, 'opened').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error).toMatchObject({ code: 'DELIVERY_PERMANENT', provider: 'smtp', providerCode: '550' });

    smtp.rejectRecipients(/@ancien-domaine\.cd$/, { code: 451 });
    await expect(email.sendAlert(['x@ancien-domaine.cd'], stockAlert(), production, 'opened')).rejects.toMatchObject({
      code: 'DELIVERY_TRANSIENT',
      providerCode: '451',
    });
    expect(smtp.mails).toHaveLength(0);
  });

  it('fails transiently while SMTP is down, and delivers again once it is back', async () => {
    await email.sendAlert(['ops@monaluxe.app'], stockAlert(), production, 'opened');
    await smtp.stop();

    const error = await email.sendAlert(['ops@monaluxe.app'], stockAlert(), production, 'reminder').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error).toMatchObject({ provider: 'smtp', retryAfterMs: null });
    await expect(email.verify()).rejects.toBeInstanceOf(TransientDeliveryError);

    await smtp.restart();
    await email.verify();
    await email.sendAlert(['ops@monaluxe.app'], stockAlert(), production, 'reminder');
    expect((await smtp.waitForMails(2)).map((m) => m.subject)).toEqual([
      '[CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[RAPPEL] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
    ]);
  });
});
