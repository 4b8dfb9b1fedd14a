import { type SlackMessage, type SlackServer, startSlackServer } from '@vigie/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentDeliveryError, TransientDeliveryError } from './errors.js';
import { createSlackChannel, type SlackChannel } from './slack.js';
import { loginAlert, production, dailyDigest, staging, stockAlert } from './test-fixtures.js';
import { transitionText } from './render.js';

let server: SlackServer;
let slack: SlackChannel;

beforeEach(async () => {
  server = await startSlackServer();
  slack = createSlackChannel({ token: server.token, apiUrl: server.apiUrl, defaultChannel: 'C-OPS', pacing: { intervalMs: 0 } });
});

afterEach(async () => {
  await server.close();
});

type Block = { type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<Record<string, unknown>> };

/** What a person sees in the message: every text of every block, in order. */
function visibleText(message: SlackMessage | undefined): string {
  const blocks = (message?.blocks ?? []) as Block[];
  return blocks
    .flatMap((b) => [
      b.text?.text,
      ...(b.fields ?? []).map((f) => f.text),
      ...(b.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : (e.text as { text?: string } | undefined)?.text)),
    ])
    .filter((t): t is string => typeof t === 'string')
    .join('\n');
}

function blocksOf(message: SlackMessage | undefined): Block[] {
  return (message?.blocks ?? []) as Block[];
}

describe('Slack channel', () => {
  it('posts a CRITICAL integrity alert people can act on, in French', async () => {
    const posted = await slack.postAlert('C-OPS', stockAlert(), production);

    const [message] = server.messages('C-OPS');
    expect(posted).toEqual({ channel: 'C-OPS', ts: message?.ts });
    const blocks = blocksOf(message);
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: '🔴 STOCK_NEGATIF — Stock négatif sur TANK1' } });
    const seen = visibleText(message);
    for (const line of [
      '*CRITIQUE* · 🔔 Ouvert, en attente de prise en charge',
      'Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.',
      '*Dépôt*\nDépôt Daipn',
      '*Citerne*\nTANK1',
      '*Produit*\nGasoil/AGO',
      '*Propriétaire*\nMONALUXE',
      '*Stock à 15 °C*\n-1 250,0 L',
      '*Seuil*\n-0,01 L',
      '*Première détection*\n23/11/2026 14:05 (Africa/Lubumbashi)',
      "Ouvrir l'écran d'intégrité",
      'Vigie · env production · release v1.4.2-3f2a9c1 · alerte 42',
    ]) {
      expect(seen).toContain(line);
    }
    expect(seen).not.toContain('STAGING');
    const button = blocks.find((b) => b.type === 'actions')?.elements?.[0];
    expect(button).toMatchObject({ type: 'button', url: 'https://monaluxe.app/governance/integrity' });
    // The notification fallback carries the same facts.
    expect(message?.text).toContain('🔴 CRITIQUE · STOCK_NEGATIF — Stock négatif sur TANK1');
    expect(message?.text).toContain('Citerne : TANK1');
    expect(message?.text).toContain('Première détection : 23/11/2026 14:05 (Africa/Lubumbashi)');
  });

  it('marks staging messages unmistakably', async () => {
    await slack.postAlert(undefined, stockAlert(), staging);

    const [message] = server.messages('C-OPS');
    const blocks = blocksOf(message);
    expect(blocks[0]?.text?.text).toBe("*⚠️ STAGING — environnement de recette, ce n'est pas la production*");
    expect(blocks[1]?.text?.text).toBe('[STAGING] 🔴 STOCK_NEGATIF — Stock négatif sur TANK1');
    expect(message?.text.startsWith('[STAGING] ')).toBe(true);
    expect(visibleText(message)).toContain('env staging · release rc-8d1e0b7');
  });

  it('shows user and address for a security alert', async () => {
    await slack.postAlert('C-SEC', loginAlert(), production);
    const seen = visibleText(server.messages('C-SEC')[0]);
    expect(seen).toContain('*Utilisateur*\njdoe@monaluxe.app');
    expect(seen).toContain('*Adresse IP*\n41.243.10.7');
    expect(seen).not.toContain('Citerne');
  });

  it('updates the message in place and replies in its thread on acknowledgement and resolution', async () => {
    const { ts } = await slack.postAlert('C-OPS', stockAlert(), production);
    const acked = stockAlert({ status: 'ACK', acknowledgedBy: 'Valery K.', acknowledgedAt: new Date('2026-11-23T12:20:00Z') });
    await slack.updateAlert('C-OPS', ts, acked, production);
    await slack.replyInThread('C-OPS', ts, transitionText('acknowledged', acked, production));
    const resolved = stockAlert({ status: 'RESOLVED', resolvedBy: null, resolvedAt: new Date('2026-11-23T14:10:00Z') });
    await slack.updateAlert('C-OPS', ts, resolved, production);
    await slack.replyInThread('C-OPS', ts, transitionText('resolved', resolved, production));

    const messages = server.messages('C-OPS');
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.updates).toBe(2);
    expect(visibleText(message)).toContain('*CRITIQUE* · ✅ Résolu automatiquement le 23/11/2026 16:10 (Africa/Lubumbashi)');
    expect(message?.text).toContain('Statut : ✅ Résolu automatiquement');
    expect(message?.replies.map((r) => r.text)).toEqual([
      '👀 Pris en charge par Valery K. le 23/11/2026 14:20 (Africa/Lubumbashi)',
      '✅ Résolu automatiquement le 23/11/2026 16:10 (Africa/Lubumbashi)',
    ]);
  });

  it('escapes Slack control characters coming from data', async () => {
    await slack.postAlert('C-OPS', stockAlert({ where: { depot: 'Dépôt <Daipn> & Co', citerne: 'TANK1' } }), production);
    expect(visibleText(server.messages('C-OPS')[0])).toContain('*Dépôt*\nDépôt &lt;Daipn&gt; &amp; Co');
  });

  it('renders in English when asked', async () => {
    await slack.postAlert('C-OPS', stockAlert({ status: 'ACK', acknowledgedBy: 'Valery K.', acknowledgedAt: new Date('2026-11-23T12:20:00Z') }), {
      ...production,
      lang: 'en',
    });
    const seen = visibleText(server.messages('C-OPS')[0]);
    expect(seen).toContain('*CRITICAL* · 👀 Acknowledged by Valery K. on 2026-11-23 14:20 (Africa/Lubumbashi)');
    expect(seen).toContain('*Tank*\nTANK1');
    expect(seen).toContain('*First detected*\n2026-11-23 14:05 (Africa/Lubumbashi)');
    expect(seen).toContain('Open the integrity screen');
    expect(seen).toContain('Vigie · env production · release v1.4.2-3f2a9c1 · alert 42');
  });

  it('posts a digest summary', async () => {
    await slack.postDigestSummary(undefined, dailyDigest(), production);
    const [message] = server.messages('C-OPS');
    expect(blocksOf(message)[0]?.text?.text).toBe('📊 Synthèse quotidienne — 23/11/2026');
    const seen = visibleText(message);
    expect(seen).toContain('*Alertes ouvertes*\n2 critiques, 3 avertissements');
    expect(seen).toContain('*Délai moyen de résolution (MTTR)*\n2 h 05 min');
    expect(message?.text).toContain('Nouvelles : 2 · Résolues : 1');
  });

  it('turns a 429 into a transient error carrying Retry-After, without retrying by itself', async () => {
    server.failNext(1, { status: 429, retryAfter: 7 });
    const error = await slack.postAlert('C-OPS', stockAlert(), production).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error).toMatchObject({ code: 'DELIVERY_TRANSIENT', provider: 'slack', providerCode: 'ratelimited', retryAfterMs: 7_000 });
    expect(server.calls).toHaveLength(1);
    expect(server.messages('C-OPS')).toEqual([]);
  });

  it('turns 5xx and dropped connections into transient errors', async () => {
    server.failNext(1, { status: 500 });
    server.failNext(1, { reset: true });
    await expect(slack.postAlert('C-OPS', stockAlert(), production)).rejects.toMatchObject({
      code: 'DELIVERY_TRANSIENT',
      providerCode: 'http_500',
      retryAfterMs: null,
    });
    await expect(slack.postAlert('C-OPS', stockAlert(), production)).rejects.toBeInstanceOf(TransientDeliveryError);
    await slack.postAlert('C-OPS', stockAlert(), production);
    expect(server.messages('C-OPS')).toHaveLength(1);
  });

  it('turns invalid_auth and channel_not_found into permanent errors that never show the token', async () => {
    const intruder = createSlackChannel({ token: 'xoxb-not-the-right-one', apiUrl: server.apiUrl, pacing: { intervalMs: 0 } });
    const error = await intruder.postAlert('C-OPS', stockAlert(), production).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error).toMatchObject({ code: 'DELIVERY_PERMANENT', provider: 'slack', providerCode: 'invalid_auth' });
    expect(JSON.stringify(error) + String(error)).not.toContain('xoxb-');

    server.failWith('channel_not_found');
    await expect(slack.replyInThread('C-GONE', '1700000000.000100', 'x')).rejects.toMatchObject({
      code: 'DELIVERY_PERMANENT',
      providerCode: 'channel_not_found',
    });
  });

  it('needs a channel when it has no default', async () => {
    const noDefault = createSlackChannel({ token: server.token, apiUrl: server.apiUrl });
    await expect(noDefault.postAlert(undefined, stockAlert(), production)).rejects.toMatchObject({ providerCode: 'no_channel' });
    expect(server.calls).toHaveLength(0);
  });

  it('verifies its token', async () => {
    await expect(slack.verify()).resolves.toEqual({ team: 'Vigie Test', botUserId: 'U0VIGIEBOT' });
  });
});
