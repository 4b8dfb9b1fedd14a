import { withTransaction } from '@vigie/db';
import { type NotifierCore, dbNow, lockAlert, lockRule } from './core.js';
import { deliverAlert, deliverGroup } from './delivery.js';
import { type NewDelivery, groupPostChannels, insertDeliveries, keys } from './ledger.js';
import type { AlertState } from './planner.js';
import { activeSilence } from './silences.js';
import { loadGroup } from './storm.js';
import { TRANSITION_COLUMNS, type TransitionRow } from './view.js';

/**
 * Reminders while an alert stays OPEN (VIGIE_REMINDER_HOURS, like
 * Alertmanager's repeat_interval): a reply in the cycle's Slack thread.
 * An OPEN alert that has no message yet (its opening fell in a silence that
 * is now over) gets its first message instead. Storm groups are reminded as
 * a group, in the group's thread. Each reminder has its own ledger key
 * (rem:<alert>:<cycle>:<n>…), so it goes once whatever the replicas.
 */

const BATCH = 50;

/** Due: the reminder time has come, or the silence that held the first message back is over (ended or removed). */
const DUE = `a.status = 'OPEN' and (a.next_reminder_at <= clock_timestamp()
  or (a.silence_id is not null and exists (select 1 from vigie.silences s
        where s.id = a.silence_id and (s.removed_at is not null or s.ends_at <= clock_timestamp()))))`;

export async function runReminders(core: NotifierCore): Promise<number> {
  let n = 0;
  const { rows } = await core.pool.query<{ alert_id: string }>(
    `select a.alert_id from vigie.notify_alerts a where ${DUE} order by a.next_reminder_at nulls first limit $1`,
    [BATCH],
  );
  for (const r of rows) {
    if (await remindAlert(core, r.alert_id)) n++;
    await deliverAlert(core, r.alert_id);
  }
  const groups = await core.pool.query<{ id: number }>(
    `select id from vigie.notify_groups
      where mode = 'grouped' and next_reminder_at <= clock_timestamp() order by next_reminder_at limit $1`,
    [BATCH],
  );
  for (const g of groups.rows) {
    if (await remindGroup(core, g.id)) n++;
    await deliverGroup(core, g.id);
  }
  return n;
}

async function remindAlert(core: NotifierCore, alertId: string): Promise<boolean> {
  return withTransaction(core.pool, async (c) => {
    await lockAlert(c, alertId);
    const st = await c.query<AlertState & { due: boolean }>(`select a.*, (${DUE}) as due from vigie.notify_alerts a where a.alert_id = $1 for update`, [
      alertId,
    ]);
    const state = st.rows[0];
    const now = await dbNow(c);
    if (!state?.due) return false;
    const later = (at: Date | null, silenceId: number | null = null) =>
      c.query('update vigie.notify_alerts set next_reminder_at = $2, silence_id = $3, updated_at = clock_timestamp() where alert_id = $1', [
        alertId,
        at,
        silenceId,
      ]);
    const every = core.opts.reminderMs;
    if (state.group_id) {
      await lockRule(c, state.check_code);
      const g = await loadGroup(c, state.group_id);
      // Held or grouped: the group's flush and reminders speak for it.
      if (g && (g.status === 'open' || g.mode === 'grouped')) {
        await later(g.status === 'open' && every > 0 ? new Date(g.window_ends_at.getTime() + every) : null);
        return false;
      }
    }
    const { rows } = await c.query<TransitionRow>(`select ${TRANSITION_COLUMNS} from vigie.alert_transitions where id = $1`, [state.last_transition_id]);
    const t = rows[0];
    if (!t) {
      await later(null);
      return false;
    }
    const posted = await c.query<{ recipient: string }>(
      `select distinct recipient from vigie.deliveries
        where alert_id = $1 and cycle = $2 and channel = 'slack' and action = 'post' and status in ('pending', 'sent')`,
      [alertId, state.cycle],
    );
    const hasMessage = posted.rows.length > 0;
    const silence = await activeSilence(c, t.check_code, t.entity_id);
    if (silence) {
      // Still (or again) silenced: try when this silence ends.
      await later(hasMessage && every > 0 ? new Date(Math.max(silence.ends_at.getTime(), now.getTime() + every)) : silence.ends_at, hasMessage ? null : silence.id);
      return false;
    }
    if (hasMessage && every <= 0) {
      await later(null);
      return false;
    }
    const routed = core.policy.route({
      checkCode: t.check_code,
      severity: t.severity,
      family: core.policy.familyOf(t.check_code, t.payload),
      entityType: t.entity_type,
    });
    const n = state.reminders + 1;
    const rowsToAdd: NewDelivery[] = [];
    const base = { source: 'reminder' as const, alertId, cycle: state.cycle, kind: 'reminder', transitionId: null };
    if (hasMessage) {
      for (const p of posted.rows)
        rowsToAdd.push({ ...base, key: keys.reminder(alertId, state.cycle, n, 'slack', p.recipient), channel: 'slack', recipient: p.recipient, action: 'reply' });
      if (routed.emailOn.includes('reminder'))
        for (const to of routed.email) rowsToAdd.push({ ...base, key: keys.reminder(alertId, state.cycle, n, 'email', to), channel: 'email', recipient: to, action: 'email' });
    } else {
      // No message in this cycle yet (its opening was silenced): the first one now.
      for (const ch of routed.slack)
        rowsToAdd.push({ ...base, key: keys.reminder(alertId, state.cycle, n, 'slack', ch), channel: 'slack', recipient: ch, action: 'post' });
      if (routed.emailOn.includes('opened') || routed.emailOn.includes('reminder'))
        for (const to of routed.email) rowsToAdd.push({ ...base, key: keys.reminder(alertId, state.cycle, n, 'email', to), channel: 'email', recipient: to, action: 'email' });
    }
    await insertDeliveries(c, rowsToAdd);
    const keepReminding = every > 0 && (hasMessage || routed.slack.length > 0);
    await c.query(
      'update vigie.notify_alerts set reminders = $2, next_reminder_at = $3, silence_id = null, updated_at = clock_timestamp() where alert_id = $1',
      [alertId, n, keepReminding ? new Date(now.getTime() + every) : null],
    );
    return rowsToAdd.length > 0;
  });
}

async function remindGroup(core: NotifierCore, groupId: number): Promise<boolean> {
  return withTransaction(core.pool, async (c) => {
    const g0 = await loadGroup(c, groupId);
    if (!g0) return false;
    await lockRule(c, g0.check_code);
    const g = await loadGroup(c, groupId, true);
    const now = await dbNow(c);
    if (!g?.next_reminder_at || g.next_reminder_at > now) return false;
    const open = await c.query<{ n: number }>(
      `select count(distinct a.alert_id)::int as n from vigie.notify_transitions nt join vigie.notify_alerts a on a.alert_id = nt.alert_id
        where nt.group_id = $1 and nt.decision = 'held' and a.status = 'OPEN' and a.group_id = $1`,
      [groupId],
    );
    if ((open.rows[0]?.n ?? 0) === 0) {
      await c.query('update vigie.notify_groups set next_reminder_at = null where id = $1', [groupId]);
      return false;
    }
    const posted = await groupPostChannels(c, groupId);
    const n = g.reminders + 1;
    await insertDeliveries(
      c,
      posted.map((recipient) => ({
        key: keys.groupReminder(groupId, n, 'slack', recipient),
        source: 'reminder' as const,
        groupId,
        kind: 'reminder',
        channel: 'slack' as const,
        recipient,
        action: 'reply' as const,
      })),
    );
    await c.query('update vigie.notify_groups set reminders = $2, next_reminder_at = $3 where id = $1', [
      groupId,
      n,
      new Date(now.getTime() + core.opts.reminderMs),
    ]);
    return posted.length > 0;
  });
}
