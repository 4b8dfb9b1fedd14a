import type { RunningNotifier } from '@vigie/notifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, ONCALL, OPS, waitFor } from './support.js';

// Transient failures (429 with Retry-After, 5xx, SMTP down) are retried by
// the queue with backoff and delivered once; permanent ones (invalid_auth,
// channel_not_found, a refused address) are recorded, surfaced on /ready and
// in the metrics, and not retried.

const h = new Harness();
let notifier: RunningNotifier;

beforeAll(async () => {
  await h.setup();
  await h.startListener();
  notifier = await h.startNotifier();
});
afterAll(() => h.teardown());

const posts = () => h.slack.calls.filter((c) => c.method === 'chat.postMessage');
const messagesAbout = (citerne: string) => h.slack.messages(OPS).filter((m) => m.text.includes(`Citerne : ${citerne}`));

describe('Slack failures', () => {
  it('waits for Retry-After on 429, then posts the message once', async () => {
    h.slack.failNext(1, { status: 429, retryAfter: 1 });
    const id = await h.openAlert({ payload: { citerne: 'TANK-429', depot: 'Dépôt Daipn' } });
    await h.settled();
    expect(messagesAbout('TANK-429')).toHaveLength(1);
    const slackRows = await h.deliveries(`alert_id = '${id}' and channel = 'slack'`);
    expect(slackRows).toMatchObject([{ status: 'sent', attempts: 2, provider: 'slack' }]);
    const answered = posts().map((c) => c.status);
    expect(answered).toContain(429);
  });

  it('retries a 500 with backoff and posts once', async () => {
    h.slack.failNext(2, { status: 500 });
    const id = await h.openAlert({ payload: { citerne: 'TANK-500', depot: 'Dépôt Daipn' } });
    await h.settled();
    expect(messagesAbout('TANK-500')).toHaveLength(1);
    const [row] = await h.deliveries(`alert_id = '${id}' and channel = 'slack'`);
    expect(row).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('records invalid_auth as a permanent failure, does not retry it, and warns on /ready and in the metrics', async () => {
    h.slack.failWith('invalid_auth');
    try {
      const id = await h.openAlert({ payload: { citerne: 'TANK-AUTH', depot: 'Dépôt Daipn' } });
      await h.settled();
      const [row] = await h.deliveries(`alert_id = '${id}' and channel = 'slack'`);
      expect(row).toMatchObject({ status: 'failed_permanent', attempts: 1, last_error_code: 'invalid_auth' });
      // Emails still went out: one channel failing does not hold the other.
      const mails = await h.deliveries(`alert_id = '${id}' and channel = 'email'`);
      expect(mails.map((m) => m.status)).toEqual(['sent', 'sent']);

      const ready = await notifier.app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      const body = ready.json() as { status: string; checks: Record<string, { status: string; output?: string }> };
      expect(body.status).toBe('warn');
      expect(body.checks.deliveries?.status).toBe('warn');
      expect(body.checks.deliveries?.output).toContain('slack invalid_auth ×1');
      const metrics = (await notifier.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/vigie_notifier_deliveries_total\{[^}]*channel="slack"[^}]*result="permanent"[^}]*\} 1/);

      // Its ACK has no message to update: recorded, not sent, not retried.
      await h.ack(id);
      await h.settled();
      const ack = await h.deliveries(`alert_id = '${id}' and kind = 'acknowledged'`);
      expect(ack).toEqual([]);
    } finally {
      h.slack.clearFaults();
    }
  });

  it('records channel_not_found as permanent', async () => {
    h.slack.failNext(1, { error: 'channel_not_found' });
    const id = await h.openAlert({ payload: { citerne: 'TANK-NOCHAN' } });
    await h.settled();
    const [row] = await h.deliveries(`alert_id = '${id}' and channel = 'slack'`);
    expect(row).toMatchObject({ status: 'failed_permanent', last_error_code: 'channel_not_found', attempts: 1 });
  });
});

describe('SMTP failures', () => {
  it('delivers to the other addresses and records a refused one as permanent', async () => {
    h.smtp.rejectRecipients('chef.depot@monaluxe.test');
    try {
      const before = h.smtp.mails.length;
      const id = await h.openAlert({ payload: { citerne: 'TANK-550', depot: 'Dépôt Daipn' } });
      await h.settled();
      const rows = await h.deliveries(`alert_id = '${id}' and channel = 'email'`);
      expect(rows.map((r) => [r.recipient, r.status, r.last_error_code])).toEqual([
        [ONCALL[0], 'sent', null],
        [ONCALL[1], 'failed_permanent', '550'],
      ]);
      expect(h.smtp.mails.slice(before).map((m) => m.envelope.to)).toEqual([[ONCALL[0]]]);
    } finally {
      h.smtp.acceptAllRecipients();
    }
  });

  it('keeps emails while the SMTP server is down and sends each once when it is back', async () => {
    await h.smtp.stop();
    const before = h.smtp.mails.length;
    const id = await h.openAlert({ payload: { citerne: 'TANK-SMTP', depot: 'Dépôt Daipn' } });
    await waitFor(
      async () => {
        const rows = await h.deliveries(`alert_id = '${id}' and channel = 'email'`);
        return rows.length === 2 && rows.every((r) => r.status === 'pending' && r.attempts >= 1);
      },
      { what: 'échecs temporaires SMTP enregistrés', timeoutMs: 20_000 },
    );
    // Slack is not held back by email.
    expect(messagesAbout('TANK-SMTP')).toHaveLength(1);
    await h.smtp.restart();
    await h.settled({ timeoutMs: 60_000 });
    const mails = h.smtp.mails.slice(before);
    expect(mails.map((m) => m.envelope.to[0]).sort()).toEqual([...ONCALL].sort());
    expect(mails.every((m) => m.text.includes('TANK-SMTP'))).toBe(true);
    const rows = await h.deliveries(`alert_id = '${id}' and channel = 'email'`);
    expect(rows.every((r) => r.status === 'sent' && r.attempts >= 2)).toBe(true);
  });

});
