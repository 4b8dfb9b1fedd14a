import { type AlertView, type MailIdentity, PermanentDeliveryError, TransientDeliveryError, alertSubject, transitionText } from '@vigie/channels';
import type pg from 'pg';
import { groupState, groupView, loadTransition, viewOfTransition } from './content.js';
import type { NotifierCore } from './core.js';
import { reviveDigest, type StoredDigest } from './figures.js';
import { type DeliveryRow, threadKey } from './ledger.js';
import { texts } from './texts.js';
import { TRANSITION_COLUMNS, type TransitionRow } from './view.js';

/**
 * Exactly-once effects. A delivery runs inside a transaction that holds its
 * ledger row (SELECT … FOR UPDATE SKIP LOCKED) across the provider call:
 *   - a row locked by another replica is left alone (`busy`, tried later);
 *   - a row no longer `pending` is never sent again;
 *   - the row becomes `sent` (with the provider's ids) in the same
 *     transaction, committed right after the provider answered.
 * The one unavoidable window: the process dies after the provider accepted
 * the message and before that commit (a few milliseconds); the row is still
 * `pending` and the message goes once more. See docs/contracts/notifications.md.
 */

export type Outcome =
  /** Provider accepted the message. */
  | { kind: 'sent' }
  /** Nothing to send (already final, suppressed, failed for good). */
  | { kind: 'final' }
  /** Try again at `at` (transient failure, locked elsewhere, waiting for its thread, held). */
  | { kind: 'later'; at: Date; why: 'transient' | 'busy' | 'waiting' | 'not_due' };

type Prepared =
  | { kind: 'send'; provider: 'slack' | 'smtp' | 'sink'; run: () => Promise<SendResult> }
  | { kind: 'wait'; at: Date }
  | { kind: 'skip'; status: 'suppressed' | 'failed_permanent'; reason: string };

interface SendResult {
  providerChannel?: string | null;
  providerTs?: string | null;
  threadTs?: string | null;
  messageId?: string | null;
  /** A post: the thread later transitions update and reply in. */
  thread?: { key: string; channel: string; ts: string; alertId?: string | null; cycle?: number | null; groupId?: number | null };
}

type LockedRow = DeliveryRow & { db_now: Date; group_status: string | null; group_window_ends_at: Date | null };

const BUSY_RETRY_MS = 1_000;
const WAIT_RETRY_MS = 500;

export async function deliverRow(core: NotifierCore, id: number): Promise<Outcome> {
  const client = await core.pool.connect();
  let open = false;
  try {
    await client.query('begin');
    open = true;
    const { rows } = await client.query<LockedRow>(
      `select d.*, clock_timestamp() as db_now, g.status as group_status, g.window_ends_at as group_window_ends_at
         from vigie.deliveries d left join vigie.notify_groups g on g.id = d.group_id and d.source <> 'group'
        where d.id = $1 for update of d skip locked`,
      [id],
    );
    const row = rows[0];
    if (!row) {
      // Locked by another replica in the middle of sending it.
      await client.query('commit');
      open = false;
      return { kind: 'later', at: new Date(Date.now() + BUSY_RETRY_MS), why: 'busy' };
    }
    const now = row.db_now;
    if (row.status !== 'pending') {
      await client.query('commit');
      open = false;
      return { kind: 'final' };
    }
    // Held by a storm group still collecting: the flush decides.
    if (row.group_status === 'open' && row.group_window_ends_at) {
      await client.query('commit');
      open = false;
      return { kind: 'later', at: new Date(Math.max(row.group_window_ends_at.getTime(), now.getTime() + WAIT_RETRY_MS)), why: 'not_due' };
    }
    if (row.next_attempt_at > now) {
      await client.query('commit');
      open = false;
      return { kind: 'later', at: row.next_attempt_at, why: 'not_due' };
    }

    const prepared = await prepare(core, client, row);
    if (prepared.kind === 'wait') {
      await client.query('update vigie.deliveries set next_attempt_at = $2, updated_at = clock_timestamp() where id = $1', [id, prepared.at]);
      await client.query('commit');
      open = false;
      return { kind: 'later', at: prepared.at, why: 'waiting' };
    }
    if (prepared.kind === 'skip') {
      await client.query('update vigie.deliveries set status = $2, reason = $3, updated_at = clock_timestamp() where id = $1', [
        id,
        prepared.status,
        prepared.reason,
      ]);
      await client.query('commit');
      open = false;
      core.metrics.deliveries.inc({ channel: row.channel, provider: 'none', result: prepared.status === 'suppressed' ? 'suppressed' : 'permanent' });
      return { kind: 'final' };
    }

    let result: SendResult;
    try {
      result = await prepared.run();
    } catch (err) {
      if (!(err instanceof TransientDeliveryError) && !(err instanceof PermanentDeliveryError)) throw err;
      const attempts = row.attempts + 1;
      const gaveUp = err instanceof TransientDeliveryError && now.getTime() - row.created_at.getTime() > core.opts.giveUpMs;
      if (err instanceof TransientDeliveryError && !gaveUp) {
        const at = new Date(now.getTime() + backoffMs(attempts, err.retryAfterMs, core.opts.retryMaxMs));
        await client.query(
          `update vigie.deliveries set attempts = $2, next_attempt_at = $3, provider = $4, last_error_code = $5, last_error = $6,
                  updated_at = clock_timestamp() where id = $1`,
          [id, attempts, at, prepared.provider, err.providerCode, err.message.slice(0, 500)],
        );
        await client.query('commit');
        open = false;
        core.metrics.deliveries.inc({ channel: row.channel, provider: prepared.provider, result: 'transient' });
        core.log.warn(
          { deliveryId: id, key: row.idempotency_key, channel: row.channel, code: err.providerCode, attempts, retryAt: at.toISOString() },
          'envoi en échec temporaire, nouvel essai prévu',
        );
        return { kind: 'later', at, why: 'transient' };
      }
      await client.query(
        `update vigie.deliveries set status = 'failed_permanent', attempts = $2, provider = $3, last_error_code = $4, last_error = $5,
                reason = $6, updated_at = clock_timestamp() where id = $1`,
        [id, attempts, prepared.provider, err.providerCode, err.message.slice(0, 500), gaveUp ? 'gave_up' : null],
      );
      await client.query('commit');
      open = false;
      core.metrics.deliveries.inc({ channel: row.channel, provider: prepared.provider, result: 'permanent' });
      core.log.error(
        { deliveryId: id, key: row.idempotency_key, channel: row.channel, recipient: row.recipient, code: err.providerCode, gaveUp },
        gaveUp ? 'envoi abandonné : échecs temporaires depuis trop longtemps' : 'envoi en échec définitif (non réessayé)',
      );
      return { kind: 'final' };
    }

    // The provider accepted: record it before anything else can fail.
    await client.query(
      `update vigie.deliveries set status = 'sent', attempts = attempts + 1, sent_at = clock_timestamp(), updated_at = clock_timestamp(),
              provider = $2, provider_channel = $3, provider_ts = $4, thread_ts = $5, provider_message_id = $6,
              last_error_code = null, last_error = null
        where id = $1`,
      [id, prepared.provider, result.providerChannel ?? null, result.providerTs ?? null, result.threadTs ?? null, result.messageId ?? null],
    );
    if (result.thread) {
      const th = result.thread;
      await client.query(
        `insert into vigie.slack_threads (thread_key, channel, ts, alert_id, cycle, group_id) values ($1, $2, $3, $4, $5, $6)
         on conflict (thread_key, channel) do nothing`,
        [th.key, th.channel, th.ts, th.alertId ?? null, th.cycle ?? null, th.groupId ?? null],
      );
    }
    await client.query('commit');
    open = false;
    core.metrics.deliveries.inc({ channel: row.channel, provider: prepared.provider, result: 'sent' });
    if (row.transition_id) {
      const t = await client.query<{ at: Date }>('select at from vigie.alert_transitions where id = $1', [row.transition_id]);
      const at = t.rows[0]?.at;
      if (at) core.metrics.latency.observe({ channel: row.channel }, Math.max(0, (Date.now() - at.getTime()) / 1000));
    }
    return { kind: 'sent' };
  } catch (err) {
    if (open) await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Exponential (1 s, 2 s, 4 s… up to `maxMs`) with ±20 % jitter; the provider's Retry-After wins when longer. */
export function backoffMs(attempts: number, retryAfterMs: number | null, maxMs: number): number {
  const base = Math.min(maxMs, 1_000 * 2 ** Math.max(0, attempts - 1));
  const jittered = base * (0.8 + Math.random() * 0.4);
  return Math.max(retryAfterMs ?? 0, Math.min(maxMs, jittered));
}

async function prepare(core: NotifierCore, client: pg.ClientBase, row: DeliveryRow): Promise<Prepared> {
  switch (row.source) {
    case 'transition':
      return prepareTransition(core, client, row);
    case 'reminder':
      return prepareReminder(core, client, row);
    case 'group':
      return prepareGroup(core, client, row);
    case 'digest':
      return prepareDigest(core, client, row);
  }
}

/** The message a thread-following row needs: its thread, or a reason to wait or give up. */
async function findThread(
  client: pg.ClientBase,
  row: DeliveryRow,
  key: string,
): Promise<{ ts: string } | { wait: Date } | { none: string }> {
  const { rows } = await client.query<{ ts: string }>('select ts from vigie.slack_threads where thread_key = $1 and channel = $2', [key, row.recipient]);
  if (rows[0]) return { ts: rows[0].ts };
  // The post may still be on its way (Slack down, storm hold).
  const ofGroup = row.alert_id === null && row.group_id !== null;
  const posts = await client.query<{ status: string; reason: string | null; next_attempt_at: Date }>(
    ofGroup
      ? `select status, reason, next_attempt_at from vigie.deliveries where group_id = $1 and source = 'group' and channel = 'slack'
           and recipient = $2 and action = 'post' order by id`
      : `select status, reason, next_attempt_at from vigie.deliveries where alert_id = $1 and cycle = $3 and channel = 'slack'
           and recipient = $2 and action = 'post' and id < $4 order by id`,
    ofGroup
      ? [row.group_id, row.recipient]
      : [row.alert_id, row.recipient, row.cycle, row.id],
  );
  const pending = posts.rows.find((p) => p.status === 'pending');
  if (pending) return { wait: new Date(Math.max(pending.next_attempt_at.getTime(), Date.now() + WAIT_RETRY_MS)) };
  const grouped = posts.rows.find((p) => p.reason === 'grouped');
  return { none: grouped ? 'grouped' : 'no_message' };
}

async function prepareTransition(core: NotifierCore, client: pg.ClientBase, row: DeliveryRow): Promise<Prepared> {
  const t = row.transition_id ? await loadTransition(client, row.transition_id) : null;
  if (!t || row.cycle === null) return { kind: 'skip', status: 'failed_permanent', reason: 'transition_missing' };
  const detail = await client.query<{ detail: { flapping?: number } }>('select detail from vigie.notify_transitions where transition_id = $1', [t.id]);
  const flapping = detail.rows[0]?.detail.flapping;
  const view = await viewOfTransition(core, client, t, { flapping });
  const { out } = core;
  const env = out.envelope;
  const key = threadKey.alert(t.alert_id, row.cycle);
  if (row.channel === 'email') {
    const identity = await mailIdentity(client, row, key);
    return {
      kind: 'send',
      provider: out.mailProvider,
      run: async () => {
        const r = await out.mail.sendAlert([row.recipient], view, env, t.kind, identity);
        return { messageId: r.messageId };
      },
    };
  }
  if (row.action === 'post') return postAlert(core, row, view, key, { alertId: t.alert_id, cycle: row.cycle });
  const thread = await findThread(client, row, key);
  if ('wait' in thread) return { kind: 'wait', at: thread.wait };
  if ('none' in thread) return { kind: 'skip', status: 'suppressed', reason: thread.none };
  return {
    kind: 'send',
    provider: out.chatProvider,
    run: async () => {
      const updated = await out.chat.updateAlert(row.recipient, thread.ts, view, env);
      if (row.action === 'update') return { providerChannel: updated.channel, providerTs: updated.ts, threadTs: thread.ts };
      const reply = await out.chat.replyInThread(row.recipient, thread.ts, transitionText(t.kind, view, env));
      return { providerChannel: reply.channel, providerTs: reply.ts, threadTs: thread.ts };
    },
  };
}

/**
 * An alert email's identity: the first email of an alert cycle to a
 * recipient is its thread's root (Message-ID from the cycle and recipient);
 * later ones (resolution, reopen, reminder) get their own Message-ID from
 * their ledger key and answer the root, so mail clients thread them. A send
 * again of the same row carries the same Message-ID.
 */
async function mailIdentity(client: pg.ClientBase, row: DeliveryRow, thread: string): Promise<MailIdentity> {
  const root = `${thread}:email:${row.recipient}`;
  const { rows } = await client.query<{ first: string | null }>(
    `select min(id)::text as first from vigie.deliveries
      where alert_id = $1 and cycle = $2 and channel = 'email' and recipient = $3 and status in ('pending', 'sent')`,
    [row.alert_id, row.cycle, row.recipient],
  );
  const first = rows[0]?.first;
  return first === null || first === undefined || Number(first) === Number(row.id) ? { id: root } : { id: row.idempotency_key, inReplyTo: root };
}

function postAlert(
  core: NotifierCore,
  row: DeliveryRow,
  view: AlertView,
  key: string,
  owner: { alertId?: string; cycle?: number; groupId?: number },
): Prepared {
  const { out } = core;
  return {
    kind: 'send',
    provider: out.chatProvider,
    run: async () => {
      const posted = await out.chat.postAlert(row.recipient, view, out.envelope);
      return {
        providerChannel: posted.channel,
        providerTs: posted.ts,
        thread: { key, channel: row.recipient, ts: posted.ts, alertId: owner.alertId ?? null, cycle: owner.cycle ?? null, groupId: owner.groupId ?? null },
      };
    },
  };
}

async function prepareReminder(core: NotifierCore, client: pg.ClientBase, row: DeliveryRow): Promise<Prepared> {
  if (!row.alert_id || row.cycle === null) {
    // A storm group's reminder: a reply in the group's thread.
    if (!row.group_id) return { kind: 'skip', status: 'failed_permanent', reason: 'reminder_without_target' };
    const thread = await findThread(client, row, threadKey.group(row.group_id));
    if ('wait' in thread) return { kind: 'wait', at: thread.wait };
    if ('none' in thread) return { kind: 'skip', status: 'suppressed', reason: thread.none };
    const state = await groupState(core, client, row.group_id);
    if (state.open === 0) return { kind: 'skip', status: 'suppressed', reason: 'no_longer_open' };
    const text = texts[core.opts.lang].groupReminder(state.open, state.open + state.ack + state.resolved);
    return {
      kind: 'send',
      provider: core.out.chatProvider,
      run: async () => {
        const r = await core.out.chat.replyInThread(row.recipient, thread.ts, text);
        return { providerChannel: r.channel, providerTs: r.ts, threadTs: thread.ts };
      },
    };
  }
  const state = await client.query<{ status: string; cycle: number; last_transition_id: number }>(
    'select status, cycle, last_transition_id from vigie.notify_alerts where alert_id = $1',
    [row.alert_id],
  );
  const st = state.rows[0];
  if (st?.status !== 'OPEN' || st.cycle !== row.cycle) return { kind: 'skip', status: 'suppressed', reason: 'no_longer_open' };
  const { rows } = await client.query<TransitionRow>(`select ${TRANSITION_COLUMNS} from vigie.alert_transitions where id = $1`, [st.last_transition_id]);
  const t = rows[0];
  if (!t) return { kind: 'skip', status: 'failed_permanent', reason: 'transition_missing' };
  const view = await viewOfTransition(core, client, t);
  const { out } = core;
  const key = threadKey.alert(row.alert_id, row.cycle);
  if (row.channel === 'email') {
    const identity = await mailIdentity(client, row, key);
    return {
      kind: 'send',
      provider: out.mailProvider,
      run: async () => ({ messageId: (await out.mail.sendAlert([row.recipient], view, out.envelope, 'reminder', identity)).messageId }),
    };
  }
  if (row.action === 'post') return postAlert(core, row, view, key, { alertId: row.alert_id, cycle: row.cycle });
  const thread = await findThread(client, row, key);
  if ('wait' in thread) return { kind: 'wait', at: thread.wait };
  if ('none' in thread) return { kind: 'skip', status: 'suppressed', reason: thread.none };
  return {
    kind: 'send',
    provider: out.chatProvider,
    run: async () => {
      const r = await out.chat.replyInThread(row.recipient, thread.ts, transitionText('reminder', view, out.envelope));
      return { providerChannel: r.channel, providerTs: r.ts, threadTs: thread.ts };
    },
  };
}

/** The held members of a storm group, as alerts. */
export async function groupMembers(core: NotifierCore, client: pg.ClientBase, groupId: number): Promise<AlertView[]> {
  const { rows } = await client.query<TransitionRow>(
    `select ${TRANSITION_COLUMNS.split(', ').map((c) => `t.${c}`).join(', ')}
       from vigie.notify_transitions nt join vigie.alert_transitions t on t.id = nt.transition_id
      where nt.group_id = $1 and nt.decision = 'held' order by t.id`,
    [groupId],
  );
  const views: AlertView[] = [];
  const seen = new Set<string>();
  for (const t of rows) {
    if (seen.has(t.alert_id)) continue;
    seen.add(t.alert_id);
    views.push(await viewOfTransition(core, client, t));
  }
  return views;
}

async function prepareGroup(core: NotifierCore, client: pg.ClientBase, row: DeliveryRow): Promise<Prepared> {
  if (!row.group_id) return { kind: 'skip', status: 'failed_permanent', reason: 'group_missing' };
  if (row.action === 'update') return prepareGroupUpdate(core, client, row, row.group_id);
  const members = await groupMembers(core, client, row.group_id);
  if (members.length === 0) return { kind: 'skip', status: 'suppressed', reason: 'empty_group' };
  // Alerts handled while the group was still collecting are shown as such from the first message.
  const state = await groupState(core, client, row.group_id);
  const view = groupView(core, row.group_id, members, Math.round(core.opts.stormWindowMs / 1000), state.open < members.length ? state : undefined);
  const { out } = core;
  if (row.channel === 'email') {
    return {
      kind: 'send',
      provider: out.mailProvider,
      run: async () => ({ messageId: (await out.mail.sendAlert([row.recipient], view, out.envelope, 'opened', { id: row.idempotency_key })).messageId }),
    };
  }
  return postAlert(core, row, view, threadKey.group(row.group_id), { groupId: row.group_id });
}

/** The grouped message as its alerts stand now, updated in place; once all are resolved, said in its thread. */
async function prepareGroupUpdate(core: NotifierCore, client: pg.ClientBase, row: DeliveryRow, groupId: number): Promise<Prepared> {
  const thread = await findThread(client, row, threadKey.group(groupId));
  if ('wait' in thread) return { kind: 'wait', at: thread.wait };
  if ('none' in thread) return { kind: 'skip', status: 'suppressed', reason: thread.none };
  const members = await groupMembers(core, client, groupId);
  if (members.length === 0) return { kind: 'skip', status: 'suppressed', reason: 'empty_group' };
  const state = await groupState(core, client, groupId);
  const view = groupView(core, groupId, members, Math.round(core.opts.stormWindowMs / 1000), state);
  const allResolved = state.open === 0 && state.ack === 0;
  const { out } = core;
  return {
    kind: 'send',
    provider: out.chatProvider,
    run: async () => {
      const updated = await out.chat.updateAlert(row.recipient, thread.ts, view, out.envelope);
      if (!allResolved) return { providerChannel: updated.channel, providerTs: updated.ts, threadTs: thread.ts };
      const reply = await out.chat.replyInThread(row.recipient, thread.ts, texts[core.opts.lang].groupResolved(state.resolved));
      return { providerChannel: reply.channel, providerTs: reply.ts, threadTs: thread.ts };
    },
  };
}

async function prepareDigest(core: NotifierCore, client: pg.ClientBase, row: DeliveryRow): Promise<Prepared> {
  const { rows } = await client.query<{ figures: StoredDigest | null }>('select figures from vigie.digests where id = $1', [row.digest_id]);
  const figures = rows[0]?.figures;
  if (!figures) return { kind: 'skip', status: 'failed_permanent', reason: 'digest_missing' };
  const digest = reviveDigest(figures);
  const { out } = core;
  if (row.channel === 'email') {
    return {
      kind: 'send',
      provider: out.mailProvider,
      run: async () => ({ messageId: (await out.mail.sendDigest([row.recipient], digest, out.envelope, { id: row.idempotency_key })).messageId }),
    };
  }
  return {
    kind: 'send',
    provider: out.chatProvider,
    run: async () => {
      const r = await out.chat.postDigestSummary(row.recipient, digest, out.envelope);
      return { providerChannel: r.channel, providerTs: r.ts };
    },
  };
}

/** Sends the due pending rows of a list, in order; a recipient that has to wait holds its later rows back. */
async function deliverInOrder(
  core: NotifierCore,
  rows: ReadonlyArray<{ id: number; channel: string; recipient: string }>,
): Promise<{ retryAt: Date | null; sent: number }> {
  const blocked = new Set<string>();
  let retryAt: Date | null = null;
  let sent = 0;
  for (const r of rows) {
    const lane = `${r.channel}:${r.recipient}`;
    if (blocked.has(lane)) continue;
    const res = await deliverRow(core, r.id);
    if (res.kind === 'sent') sent++;
    if (res.kind === 'later') {
      blocked.add(lane);
      if (!retryAt || res.at < retryAt) retryAt = res.at;
    }
  }
  return { retryAt, sent };
}

/** Every pending delivery of one alert, oldest first (thread posts before their updates). */
export async function deliverAlert(core: NotifierCore, alertId: string): Promise<{ retryAt: Date | null; sent: number }> {
  const { rows } = await core.pool.query<{ id: number; channel: string; recipient: string }>(
    "select id, channel, recipient from vigie.deliveries where alert_id = $1 and status = 'pending' order by id",
    [alertId],
  );
  return deliverInOrder(core, rows);
}

export async function deliverGroup(core: NotifierCore, groupId: number): Promise<{ retryAt: Date | null; sent: number }> {
  const { rows } = await core.pool.query<{ id: number; channel: string; recipient: string }>(
    "select id, channel, recipient from vigie.deliveries where group_id = $1 and alert_id is null and status = 'pending' order by id",
    [groupId],
  );
  return deliverInOrder(core, rows);
}

export async function deliverDigestRows(core: NotifierCore, digestId: number): Promise<{ retryAt: Date | null; sent: number }> {
  const { rows } = await core.pool.query<{ id: number; channel: string; recipient: string }>(
    "select id, channel, recipient from vigie.deliveries where digest_id = $1 and status = 'pending' order by id",
    [digestId],
  );
  return deliverInOrder(core, rows);
}

/** One line for the ledger's `summary`: what people get (the email subject). */
export function summaryOf(core: NotifierCore, view: AlertView, kind: Parameters<typeof alertSubject>[2]): string {
  return alertSubject(view, core.out.envelope, kind).slice(0, 300);
}
