import { Producer, createRedis } from '@vigie/queue';
import { testRedisUrl } from '@vigie/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killHard, startService } from '../support/processes.js';
import { Harness, ONCALL, OPS, waitFor } from './support.js';

// No duplicate and nothing lost: two notifier replicas (one in this process,
// one a real child process), a Slack outage of a full minute, the child
// killed with SIGKILL in the middle of it and started again, then every
// transition replayed. Each alert must end with exactly one Slack message
// (and one thread reply per ACK) and one email per on-call address.

const h = new Harness();

beforeAll(async () => {
  await h.setup();
  await h.startListener();
});
afterAll(() => h.teardown());

const N = 12;
const citerne = (i: number) => `CUVE-${String(i).padStart(2, '0')}`;

function tally() {
  const messages = h.slack.messages(OPS);
  const perTank = new Map<string, { messages: number; replies: number }>();
  for (let i = 0; i < N; i++) perTank.set(citerne(i), { messages: 0, replies: 0 });
  for (const m of messages) {
    const tank = /Citerne : (CUVE-\d\d)/.exec(m.text)?.[1];
    if (!tank) continue;
    const t = perTank.get(tank);
    if (!t) continue;
    t.messages++;
    t.replies += m.replies.length;
  }
  const mails = new Map<string, number>();
  for (const m of h.smtp.mails) {
    const tank = /Citerne : (CUVE-\d\d)/.exec(m.text)?.[1];
    if (tank) for (const to of m.envelope.to) mails.set(`${tank} ${to}`, (mails.get(`${tank} ${to}`) ?? 0) + 1);
  }
  return { perTank, mails };
}

describe('exactly-once delivery', () => {
  it('survives a one-minute Slack outage, a SIGKILL of one of two replicas, and a replay: no loss, no duplicate', { timeout: 240_000 }, async () => {
    const inProcess = await h.startNotifier();
    const childEnv = h.env({ PORT: String(await freePort()), LOG_LEVEL: 'warn' });
    let child = startService('notifier', childEnv);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${childEnv.PORT}/ready`)).status === 200, { what: 'réplique enfant prête', timeoutMs: 30_000 });

      // Slack answers 503 to everything for one minute.
      h.slack.setOutage(60_000, { status: 503 });
      const ids: string[] = [];
      for (let i = 0; i < N; i++) {
        // One rule per alert: this test is about delivery, not storm grouping.
        ids.push(await h.openAlert({ checkCode: `RULE_${i}`, payload: { depot: 'Dépôt Daipn', citerne: citerne(i), stock_15c: -10 - i } }));
      }
      for (const id of ids.slice(0, N / 2)) await h.ack(id);

      // Retries are happening (transient failures recorded) …
      await waitFor(
        async () => {
          const { rows } = await h.admin.query<{ n: number }>("select count(*)::int as n from vigie.deliveries where channel = 'slack' and status = 'pending' and attempts >= 2");
          return (rows[0]?.n ?? 0) >= N / 2;
        },
        { what: 'échecs temporaires Slack enregistrés', timeoutMs: 30_000 },
      );
      // Emails did not wait for Slack. (They are all accepted before the kill below: a kill between the
      // SMTP server's acceptance and the ledger commit is the documented at-most-one-duplicate window.)
      await h.smtp.waitForMails(N * ONCALL.length, { timeoutMs: 30_000 });
      await h.settledEmails();

      // … and one replica dies without warning in the middle of the Slack retries, then comes back.
      await killHard(child);
      child = startService('notifier', childEnv);
      expect(h.slack.messages(OPS)).toHaveLength(0);

      // When Slack is back, everything arrives.
      await h.settled({ timeoutMs: 150_000 });
      const { perTank, mails } = tally();
      for (let i = 0; i < N; i++) {
        expect(perTank.get(citerne(i)), citerne(i)).toEqual({ messages: 1, replies: i < N / 2 ? 1 : 0 });
        for (const to of ONCALL) expect(mails.get(`${citerne(i)} ${to}`), `${citerne(i)} ${to}`).toBe(1);
      }
      const failed = await h.deliveries("status <> 'sent'");
      expect(failed).toEqual([]);

      // Replay every transition: new jobs for all of them, and their outbox events unprocessed again.
      const redis = createRedis(testRedisUrl, 'producer');
      const producer = new Producer(redis, h.prefix);
      try {
        const { rows } = await h.admin.query<{ id: number; event_id: number }>(
          `select t.id, o.id as event_id from vigie.alert_transitions t
             join vigie.outbox o on o.kind = 'alert.transition' and (o.payload ->> 'transition_id')::bigint = t.id order by t.id`,
        );
        await h.admin.query("update vigie.outbox set processed_at = null where kind = 'alert.transition'");
        await producer.addBulk(rows.map((r) => ({ name: 'notify.transition' as const, data: { transitionId: r.id, eventId: r.event_id }, opts: { jobId: `replay-${r.id}` } })));
        await h.settled({ timeoutMs: 60_000 });
      } finally {
        await producer.close();
        redis.disconnect();
      }
      const again = tally();
      expect(again).toEqual({ perTank, mails });
      expect(h.slack.messages(OPS)).toHaveLength(N);
      expect(inProcess.url).toBeTruthy();
    } finally {
      await killHard(child);
    }
  });
});
