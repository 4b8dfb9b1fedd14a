import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './support.js';

// A fresh machine: no Slack token, no SMTP URL. Every message goes to the
// local sink (files, and the console unless VIGIE_SINK_CONSOLE=false) so the
// README's first command shows alerts.

const h = new Harness();
let sink: string;

beforeAll(async () => {
  await h.setup();
  sink = join(h.tmp, 'fresh-sink');
  await h.startListener();
  await h.startNotifier({
    SLACK_BOT_TOKEN: '',
    SLACK_CHANNEL_OPS: '',
    SLACK_CHANNEL_SECURITY: '',
    SMTP_URL: '',
    MAIL_FROM: '',
    MAIL_ONCALL: '',
    MAIL_SECURITY: '',
    MAIL_MANAGERS: '',
    MAIL_DIRECTEUR: '',
    VIGIE_SINK_DIR: sink,
  });
});
afterAll(() => h.teardown());

const read = (file: string) =>
  readFileSync(join(sink, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('local sink', () => {
  it('writes the Slack message, its thread reply and the on-call email to files', async () => {
    const id = await h.openAlert({ payload: { depot: 'Dépôt Daipn', citerne: 'TANK4', produit: 'Essence', proprietaire: 'MONALUXE', stock_15c: -40 } });
    await h.settled();
    await h.ack(id);
    await h.settled();
    await waitFor(async () => read('slack.jsonl').length >= 3, { what: 'messages du puits' });
    const slack = read('slack.jsonl');
    expect(slack.map((e) => [e.method, e.channel])).toEqual([
      ['postAlert', '#vigie-exploitation'],
      ['updateAlert', '#vigie-exploitation'],
      ['replyInThread', '#vigie-exploitation'],
    ]);
    expect(slack[0]?.text).toContain('[LOCAL] 🔴 CRITIQUE · STOCK_NEGATIF — Stock négatif sur TANK4');
    expect(slack[0]?.text).toContain('Produit : Essence');
    expect(slack[2]?.threadTs).toBe(slack[0]?.ts);
    const email = read('email.jsonl');
    expect(email.map((e) => e.to)).toEqual([['astreinte@vigie.local']]);
    expect(email[0]?.subject).toBe('[LOCAL] [CRITIQUE] STOCK_NEGATIF — TANK4 (Dépôt Daipn)');
    expect(readFileSync(join(sink, 'alerts.log'), 'utf8')).toContain('Citerne : TANK4');
    const rows = await h.deliveries(`alert_id = '${id}'`);
    expect(rows.map((r) => [r.provider, r.status])).toEqual([
      ['sink', 'sent'],
      ['sink', 'sent'],
      ['sink', 'sent'],
    ]);
  });

  it('passes the /smoke canary on to nobody, stamping its notifier stage', async () => {
    const { rows } = await h.admin.query<{ id: string }>("select vigie.start_canary('rel-test-42') as id");
    const id = rows[0]!.id;
    await h.admin.query('select vigie.canary_evaluated($1::uuid)', [id]);
    await waitFor(
      async () => {
        const r = await h.admin.query<{ notified_at: Date | null }>('select notified_at from vigie.canaries where id = $1', [id]);
        return r.rows[0]?.notified_at;
      },
      { what: 'canari notifié', timeoutMs: 20_000 },
    );
    const events = await h.admin.query("select processed_at is not null as done from vigie.outbox where kind = 'canary.notify' and entity_id = $1", [id]);
    expect(events.rows).toEqual([{ done: true }]);
    expect(read('slack.jsonl').some((e) => String(e.text).includes(id))).toBe(false);
  });
});
