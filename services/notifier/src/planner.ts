import { withTransaction } from '@vigie/db';
import type pg from 'pg';
import { viewOfTransition } from './content.js';
import { type NotifierCore, dbNow, lockAlert, lockRule } from './core.js';
import { summaryOf } from './delivery.js';
import { type DeliveryAction, type DeliveryStatus, type NewDelivery, insertDeliveries, keys } from './ledger.js';
import type { NotifyKind } from './routing.js';
import { activeSilence } from './silences.js';
import { type GroupRow, loadGroup, placeInStorm, scheduleGroupRefresh } from './storm.js';
import { TRANSITION_COLUMNS, type TransitionRow } from './view.js';

/**
 * Planning: what each transition of an alert sends, decided once, in order,
 * under the alert's lock, and written down as ledger rows (pending, or
 * silenced / suppressed) plus the alert's notification state. Sending comes
 * after, row by row (delivery.ts). A replayed transition is already planned:
 * nothing new is written.
 *
 * One Slack message per alert cycle. A cycle starts with `opened`, or with a
 * `reopened` when the cycle has no message or was resolved more than
 * policy.newCycleAfterHours ago; otherwise a reopen updates the cycle's
 * message in place and replies in its thread, like ACK and RESOLVE.
 */

export interface AlertState {
  alert_id: string;
  check_code: string;
  severity: string;
  status: 'OPEN' | 'ACK' | 'RESOLVED';
  cycle: number;
  cycle_started_at: Date;
  last_transition_id: number;
  last_transition_at: Date;
  resolved_at: Date | null;
  group_id: number | null;
  next_reminder_at: Date | null;
  reminders: number;
  silence_id: number | null;
}

export type Decision = 'notify' | 'held' | 'silenced' | 'flapping' | 'grouped' | 'digest_only' | 'no_message';

export interface PlanResult {
  planned: Array<{ transitionId: number; decision: Decision }>;
  /** Storm groups whose flush must be scheduled. */
  flushes: Array<{ groupId: number; at: Date }>;
  /** Grouped messages to update (an alert they stand for changed), with the tag of the job that sends the update. */
  refreshes: Array<{ groupId: number; at: Date; tag: string }>;
}

/** Plans every not-yet-planned transition of `alertId` up to `upTo`, oldest first. */
export async function planAlert(core: NotifierCore, alertId: string, upTo: number): Promise<PlanResult> {
  return withTransaction(core.pool, async (c) => {
    await lockAlert(c, alertId);
    const { rows: todo } = await c.query<TransitionRow>(
      `select ${TRANSITION_COLUMNS} from vigie.alert_transitions t
        where t.alert_id = $1 and t.id <= $2
          and not exists (select 1 from vigie.notify_transitions nt where nt.transition_id = t.id)
        order by t.id`,
      [alertId, upTo],
    );
    const result: PlanResult = { planned: [], flushes: [], refreshes: [] };
    if (todo.length === 0) return result;
    const st = await c.query<AlertState>('select * from vigie.notify_alerts where alert_id = $1 for update', [alertId]);
    let state: AlertState | null = st.rows[0] ?? null;
    for (const t of todo) state = await planOne(core, c, t, state, result);
    return result;
  });
}

async function planOne(core: NotifierCore, c: pg.ClientBase, t: TransitionRow, state: AlertState | null, result: PlanResult): Promise<AlertState> {
  const now = await dbNow(c);
  const { policy } = core;
  const family = policy.familyOf(t.check_code, t.payload);
  const routed = policy.route({ checkCode: t.check_code, severity: t.severity, family, entityType: t.entity_type });
  const kind: NotifyKind = t.kind;
  const emailTargets = routed.emailOn.includes(kind) ? routed.email : [];
  const detail: Record<string, unknown> = { routes: routed.routes };

  if ((t.kind === 'opened' || t.kind === 'reopened') && t.source_event_at) {
    core.metrics.timeToDetect.observe(Math.max(0, (t.at.getTime() - t.source_event_at.getTime()) / 1000));
  }

  const postsOfCycle = async (cycle: number): Promise<string[]> => {
    const { rows } = await c.query<{ recipient: string }>(
      `select distinct recipient from vigie.deliveries
        where alert_id = $1 and cycle = $2 and channel = 'slack' and action = 'post' and status in ('pending', 'sent')`,
      [t.alert_id, cycle],
    );
    return rows.map((r) => r.recipient);
  };

  let newCycle: boolean;
  if (t.kind === 'opened' || !state) newCycle = t.kind === 'opened' || t.kind === 'reopened';
  else if (t.kind === 'reopened') {
    const longAgo = !state.resolved_at || t.at.getTime() - state.resolved_at.getTime() > policy.policy.newCycleAfterHours * 3_600_000;
    newCycle = longAgo || (await postsOfCycle(state.cycle)).length === 0;
  } else newCycle = false;
  const cycle = newCycle ? (state?.cycle ?? 0) + 1 : (state?.cycle ?? 1);

  const silence = await activeSilence(c, t.check_code, t.entity_id);
  // What people will get, in one line; computed before any storm lock is taken (that lock serialises a rule's storm).
  const summary = summaryOf(core, await viewOfTransition(core, c, t), kind);
  let decision: Decision = 'notify';
  // The storm group holding this cycle's messages (null when sent on their own, the leader included).
  let groupId: number | null = newCycle ? null : (state?.group_id ?? null);
  let placedIn: number | null = null;
  let notBefore: Date | null = null;
  let status: DeliveryStatus = 'pending';
  let reason: string | null = null;
  const rows: Array<{ channel: 'slack' | 'email'; recipient: string; action: DeliveryAction; status?: DeliveryStatus; reason?: string }> = [];

  if (newCycle) {
    for (const ch of routed.slack) rows.push({ channel: 'slack', recipient: ch, action: 'post' });
    for (const to of emailTargets) rows.push({ channel: 'email', recipient: to, action: 'email' });
    if (rows.length === 0) decision = 'digest_only';
    else if (silence) {
      decision = 'silenced';
      status = 'silenced';
      reason = `silence:${silence.id}`;
    } else {
      await lockRule(c, t.check_code);
      const placed = await placeInStorm(core, c, t.check_code, t.id, now);
      placedIn = placed.groupId;
      result.flushes.push({ groupId: placed.groupId, at: placed.windowEndsAt });
      if (placed.role === 'member') {
        groupId = placed.groupId;
        decision = 'held';
        notBefore = placed.windowEndsAt;
      }
    }
  } else {
    // A follow-up in the cycle: the cycle's messages are updated and replied to.
    let flapping = 0;
    if (t.kind === 'reopened' || t.kind === 'resolved') {
      const { rows: f } = await c.query<{ n: number }>(
        `select count(*)::int as n from vigie.alert_transitions
          where alert_id = $1 and kind = 'reopened' and id <= $2 and at > $3::timestamptz - make_interval(mins => $4)`,
        [t.alert_id, t.id, t.at, policy.policy.flapWindowMinutes],
      );
      const n = f[0]?.n ?? 0;
      if (n >= policy.policy.flapThreshold) flapping = n;
    }
    if (flapping) detail.flapping = flapping;
    // Flapping or silenced: the message already posted still tells the truth (updated in place), without pinging anyone.
    const quiet = flapping > 0 || silence !== null;
    const slackChannels = state ? await postsOfCycle(cycle) : [];
    for (const ch of slackChannels) rows.push({ channel: 'slack', recipient: ch, action: quiet ? 'update' : 'update_reply' });
    for (const to of emailTargets)
      rows.push({
        channel: 'email',
        recipient: to,
        action: 'email',
        ...(silence ? { status: 'silenced' as const, reason: `silence:${silence.id}` } : flapping ? { status: 'suppressed' as const, reason: 'flapping' } : {}),
      });
    let group: GroupRow | null = null;
    if (groupId) {
      await lockRule(c, t.check_code);
      group = await loadGroup(c, groupId);
    }
    // An alert of a grouped message changed: its own rows stay suppressed, the grouped message is updated.
    if (groupId && group?.mode === 'grouped') {
      const refresh = await scheduleGroupRefresh(core, c, groupId, t.id, now);
      if (refresh) result.refreshes.push(refresh);
    }
    if (rows.length === 0) decision = 'no_message';
    else if (group?.status === 'open') {
      decision = 'held';
      notBefore = group.window_ends_at;
    } else if (group?.mode === 'grouped') {
      decision = 'grouped';
      status = 'suppressed';
      reason = 'grouped';
    } else if (silence) decision = 'silenced';
    else if (flapping) decision = 'flapping';
    if (group?.mode === 'individual') groupId = null;
  }

  if (rows.length > 0) {
    const deliveries: NewDelivery[] = rows.map((r) => ({
      key: keys.transition(t.id, r.channel, r.recipient),
      source: 'transition',
      transitionId: t.id,
      alertId: t.alert_id,
      cycle,
      groupId,
      kind,
      channel: r.channel,
      recipient: r.recipient,
      action: r.action,
      status: status !== 'pending' ? status : (r.status ?? 'pending'),
      reason: status !== 'pending' ? reason : (r.reason ?? null),
      summary,
      notBefore,
    }));
    await insertDeliveries(c, deliveries);
    for (const d of deliveries) {
      if (d.status === 'silenced' || d.status === 'suppressed') core.metrics.deliveries.inc({ channel: d.channel, provider: 'none', result: d.status });
    }
  }

  // Reminders while OPEN, for alerts that have (or will have) a Slack message; a cycle
  // whose opening was silenced gets its first message when the silence is over.
  let nextReminder: Date | null = null;
  const silencedOpening = newCycle && decision === 'silenced' && silence ? silence : null;
  if (silencedOpening) nextReminder = silencedOpening.ends_at;
  else if (t.to_status === 'OPEN' && core.opts.reminderMs > 0 && routed.slack.length > 0) {
    if (decision === 'held' && notBefore) nextReminder = new Date(notBefore.getTime() + core.opts.reminderMs);
    else nextReminder = new Date(now.getTime() + core.opts.reminderMs);
  }
  const next: AlertState = {
    alert_id: t.alert_id,
    check_code: t.check_code,
    severity: t.severity,
    status: t.to_status,
    cycle,
    cycle_started_at: newCycle || !state ? t.at : state.cycle_started_at,
    last_transition_id: t.id,
    last_transition_at: t.at,
    resolved_at: t.kind === 'resolved' ? t.at : t.kind === 'acknowledged' ? (state?.resolved_at ?? null) : null,
    group_id: groupId,
    next_reminder_at: nextReminder,
    reminders: newCycle ? 0 : (state?.reminders ?? 0),
    silence_id: silencedOpening ? silencedOpening.id : newCycle ? null : (state?.silence_id ?? null),
  };
  await c.query(
    `insert into vigie.notify_alerts (alert_id, check_code, severity, status, cycle, cycle_started_at, last_transition_id, last_transition_at,
                                      resolved_at, group_id, next_reminder_at, reminders, silence_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     on conflict (alert_id) do update set check_code = excluded.check_code, severity = excluded.severity, status = excluded.status,
       cycle = excluded.cycle, cycle_started_at = excluded.cycle_started_at, last_transition_id = excluded.last_transition_id,
       last_transition_at = excluded.last_transition_at, resolved_at = excluded.resolved_at, group_id = excluded.group_id,
       next_reminder_at = excluded.next_reminder_at, reminders = excluded.reminders, silence_id = excluded.silence_id,
       updated_at = clock_timestamp()`,
    [
      next.alert_id,
      next.check_code,
      next.severity,
      next.status,
      next.cycle,
      next.cycle_started_at,
      next.last_transition_id,
      next.last_transition_at,
      next.resolved_at,
      next.group_id,
      next.next_reminder_at,
      next.reminders,
      next.silence_id,
    ],
  );
  if (silence) detail.silence = silence.id;
  await c.query(
    `insert into vigie.notify_transitions (transition_id, alert_id, cycle, decision, group_id, detail) values ($1, $2, $3, $4, $5, $6)`,
    [t.id, t.alert_id, cycle, decision, groupId ?? placedIn, JSON.stringify(detail)],
  );
  result.planned.push({ transitionId: t.id, decision });
  core.log.debug({ transitionId: t.id, alertId: t.alert_id, kind: t.kind, cycle, decision, groupId }, 'transition planifiée');
  return next;
}
