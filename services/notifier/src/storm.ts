import { withTransaction } from '@vigie/db';
import type pg from 'pg';
import { groupView } from './content.js';
import { type NotifierCore, dbNow, lockRule } from './core.js';
import { deliverAlert, deliverGroup, groupMembers, summaryOf } from './delivery.js';
import { type ChannelKind, finalizeTransitions, groupPostChannels, insertDeliveries, keys } from './ledger.js';

/**
 * Storms. The first new alert of a rule opens a group and goes out at once
 * (the leader); the rule's next new alerts within VIGIE_STORM_WINDOW_S are
 * held. When the window ends, the group is flushed: a few held alerts are
 * sent one by one, more become one grouped message per destination. While a
 * storm keeps going (the previous window was a storm and just ended), the
 * next group has no leader: everything waits for its flush. A storm of N
 * findings thus sends at most 1 + ⌈duration / window⌉ messages per channel.
 */

export interface GroupRow {
  id: number;
  check_code: string;
  opened_at: Date;
  window_ends_at: Date;
  status: 'open' | 'flushed';
  mode: 'individual' | 'grouped' | null;
  leader_transition_id: number | null;
  member_count: number;
  next_reminder_at: Date | null;
  reminders: number;
}

export type Placement = { role: 'leader' | 'member'; groupId: number; windowEndsAt: Date };

/** Places a new alert cycle of `checkCode` in the rule's storm group. Caller holds the rule lock. */
export async function placeInStorm(core: NotifierCore, client: pg.ClientBase, checkCode: string, transitionId: number, now: Date): Promise<Placement> {
  const windowMs = core.opts.stormWindowMs;
  const { rows } = await client.query<GroupRow>('select * from vigie.notify_groups where check_code = $1 order by id desc limit 1', [checkCode]);
  const g = rows[0];
  if (g && g.status === 'open' && now < g.window_ends_at) {
    await client.query('update vigie.notify_groups set member_count = member_count + 1 where id = $1', [g.id]);
    return { role: 'member', groupId: g.id, windowEndsAt: g.window_ends_at };
  }
  const storming = !!g && g.member_count > core.policy.policy.stormIndividualMax && now.getTime() < g.window_ends_at.getTime() + windowMs;
  const windowEndsAt = new Date(now.getTime() + windowMs);
  const ins = await client.query<{ id: number }>(
    `insert into vigie.notify_groups (check_code, opened_at, window_ends_at, leader_transition_id, member_count)
     values ($1, $2, $3, $4, $5) returning id`,
    [checkCode, now, windowEndsAt, storming ? null : transitionId, storming ? 1 : 0],
  );
  const groupId = ins.rows[0]?.id;
  if (groupId === undefined) throw new Error('création du groupe de rafale impossible');
  return { role: storming ? 'member' : 'leader', groupId, windowEndsAt };
}

export async function loadGroup(client: pg.ClientBase | pg.Pool, groupId: number, forUpdate = false): Promise<GroupRow | null> {
  const { rows } = await client.query<GroupRow>(`select * from vigie.notify_groups where id = $1${forUpdate ? ' for update' : ''}`, [groupId]);
  return rows[0] ?? null;
}

/**
 * Ends a group's window: releases its held alerts (few) or replaces them by
 * one grouped message per destination (a storm), then sends. Idempotent:
 * a flushed group is only (re)delivered. Returns `notYet` when called early.
 */
export async function flushGroup(core: NotifierCore, groupId: number): Promise<{ notYet?: Date; retryAt: Date | null }> {
  const decided = await withTransaction(core.pool, async (c) => {
    const code = await c.query<{ check_code: string }>('select check_code from vigie.notify_groups where id = $1', [groupId]);
    const checkCode = code.rows[0]?.check_code;
    if (!checkCode) return { missing: true as const };
    await lockRule(c, checkCode);
    const g = await loadGroup(c, groupId, true);
    if (!g) return { missing: true as const };
    const now = await dbNow(c);
    if (g.status === 'flushed') return { mode: g.mode, members: await memberAlerts(c, groupId) };
    if (now < g.window_ends_at) return { notYet: g.window_ends_at };

    const members = await memberAlerts(c, groupId);
    const held = members.filter((m) => m.held).length;
    const mode: 'individual' | 'grouped' = held > core.policy.policy.stormIndividualMax ? 'grouped' : 'individual';
    if (mode === 'individual') {
      // A few: each goes on its own, now.
      await c.query(
        "update vigie.deliveries set next_attempt_at = clock_timestamp(), updated_at = clock_timestamp() where group_id = $1 and status = 'pending' and source <> 'group'",
        [groupId],
      );
      await c.query(
        `update vigie.notify_alerts set group_id = null,
                next_reminder_at = case when status = 'OPEN' and next_reminder_at is not null then $2::timestamptz else next_reminder_at end
          where group_id = $1`,
        [groupId, core.opts.reminderMs > 0 ? new Date(now.getTime() + core.opts.reminderMs) : null],
      );
    } else {
      const recipients = await c.query<{ channel: ChannelKind; recipient: string }>(
        `select distinct channel, recipient from vigie.deliveries
          where group_id = $1 and status = 'pending' and source = 'transition' and action in ('post', 'email')`,
        [groupId],
      );
      await c.query(
        "update vigie.deliveries set status = 'suppressed', reason = 'grouped', updated_at = clock_timestamp() where group_id = $1 and status = 'pending' and source <> 'group'",
        [groupId],
      );
      const views = await groupMembers(core, c, groupId);
      const summary = views.length ? summaryOf(core, groupView(core, groupId, views, Math.round(core.opts.stormWindowMs / 1000)), 'opened') : null;
      await insertDeliveries(
        c,
        recipients.rows.map((r) => ({
          key: keys.group(groupId, r.channel, r.recipient),
          source: 'group' as const,
          groupId,
          kind: 'group',
          channel: r.channel,
          recipient: r.recipient,
          action: r.channel === 'slack' ? ('post' as const) : ('email' as const),
          summary,
        })),
      );
      const hasSlack = recipients.rows.some((r) => r.channel === 'slack');
      await c.query('update vigie.notify_groups set next_reminder_at = $2 where id = $1', [
        groupId,
        hasSlack && core.opts.reminderMs > 0 ? new Date(now.getTime() + core.opts.reminderMs) : null,
      ]);
      // Grouped alerts are reminded as a group, not one by one.
      await c.query('update vigie.notify_alerts set next_reminder_at = null where group_id = $1', [groupId]);
    }
    await c.query("update vigie.notify_groups set status = 'flushed', mode = $2, flushed_at = clock_timestamp() where id = $1", [groupId, mode]);
    core.metrics.stormGroups.inc({ mode });
    core.log.info({ groupId, checkCode, held, mode }, mode === 'grouped' ? 'rafale regroupée en un message' : 'groupe libéré');
    return { mode, members };
  });
  if ('missing' in decided) return { retryAt: null };
  if ('notYet' in decided) return { notYet: decided.notYet, retryAt: null };

  let retryAt: Date | null = null;
  const keep = (r: { retryAt: Date | null }) => {
    if (r.retryAt && (!retryAt || r.retryAt < retryAt)) retryAt = r.retryAt;
  };
  if (decided.mode === 'grouped') keep(await deliverGroup(core, groupId));
  for (const m of decided.members) keep(await deliverAlert(core, m.alertId));
  const client = await core.pool.connect();
  try {
    await finalizeTransitions(
      client,
      decided.members.flatMap((m) => m.transitionIds),
    );
  } finally {
    client.release();
  }
  return { retryAt };
}

/** Alerts with a transition in the group (the leader too); `held` when one was held by it. */
async function memberAlerts(c: pg.ClientBase, groupId: number): Promise<Array<{ alertId: string; transitionIds: number[]; held: boolean }>> {
  const { rows } = await c.query<{ alert_id: string; ids: Array<number | string>; held: boolean }>(
    `select alert_id, array_agg(transition_id order by transition_id) as ids, bool_or(decision = 'held') as held
       from vigie.notify_transitions where group_id = $1 group by alert_id`,
    [groupId],
  );
  return rows.map((r) => ({ alertId: r.alert_id, transitionIds: r.ids.map(Number), held: r.held }));
}

/** A grouped message is updated at most this long after the first change it has to show (or the storm window, when shorter). */
export const GROUP_UPDATE_MAX_DELAY_MS = 30_000;

/**
 * An alert of a grouped message was acknowledged, resolved or reopened: the
 * grouped message is updated in place (and, once every alert is resolved,
 * told so in its thread). One pending update per destination: changes that
 * arrive before it goes out are shown by it, since it renders the state at
 * send time. Returns the update to schedule, if a new one was recorded.
 */
export async function scheduleGroupRefresh(
  core: NotifierCore,
  c: pg.ClientBase,
  groupId: number,
  transitionId: number,
  now: Date,
): Promise<{ groupId: number; at: Date; tag: string } | null> {
  const channels = await groupPostChannels(c, groupId);
  if (channels.length === 0) return null;
  const { rows: waiting } = await c.query<{ recipient: string }>(
    `select distinct recipient from vigie.deliveries
      where group_id = $1 and source = 'group' and channel = 'slack' and action = 'update' and status = 'pending'`,
    [groupId],
  );
  const pending = new Set(waiting.map((r) => r.recipient));
  const at = new Date(now.getTime() + Math.min(core.opts.stormWindowMs, GROUP_UPDATE_MAX_DELAY_MS));
  const fresh = channels
    .filter((recipient) => !pending.has(recipient))
    .map((recipient) => ({
      key: keys.groupUpdate(groupId, transitionId, recipient),
      source: 'group' as const,
      groupId,
      kind: 'group',
      channel: 'slack' as const,
      recipient,
      action: 'update' as const,
      notBefore: at,
    }));
  if (fresh.length === 0) return null;
  const ids = await insertDeliveries(c, fresh);
  return ids.length ? { groupId, at, tag: `upd-${transitionId}` } : null;
}
