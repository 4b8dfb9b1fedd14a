import type pg from 'pg';

/**
 * The delivery ledger (vigie.deliveries): one row per transition × channel ×
 * recipient (and per storm group, reminder, digest), unique by its
 * idempotency key. Rows are created `pending` (or directly `silenced` /
 * `suppressed`) when a transition is planned, and become `sent` or
 * `failed_permanent` in the transaction that holds their lock during the
 * provider call (see delivery.ts).
 */

export type DeliveryStatus = 'pending' | 'sent' | 'failed_permanent' | 'silenced' | 'suppressed';
export type DeliverySource = 'transition' | 'group' | 'reminder' | 'digest';
export type ChannelKind = 'slack' | 'email';
export type DeliveryAction = 'post' | 'update_reply' | 'update' | 'reply' | 'email';

export interface NewDelivery {
  key: string;
  source: DeliverySource;
  transitionId?: number | null;
  alertId?: string | null;
  cycle?: number | null;
  groupId?: number | null;
  digestId?: number | null;
  kind: string;
  channel: ChannelKind;
  recipient: string;
  action: DeliveryAction;
  status?: DeliveryStatus;
  reason?: string | null;
  summary?: string | null;
  /** Not tried before (storm hold); default now. */
  notBefore?: Date | null;
}

export interface DeliveryRow {
  id: number;
  idempotency_key: string;
  source: DeliverySource;
  transition_id: number | null;
  alert_id: string | null;
  cycle: number | null;
  group_id: number | null;
  digest_id: number | null;
  kind: string;
  channel: ChannelKind;
  recipient: string;
  action: DeliveryAction;
  status: DeliveryStatus;
  reason: string | null;
  summary: string | null;
  attempts: number;
  next_attempt_at: Date;
  provider: string | null;
  provider_ts: string | null;
  thread_ts: string | null;
  provider_message_id: string | null;
  last_error_code: string | null;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

/** Idempotency keys: what makes a delivery the same delivery when replayed. */
export const keys = {
  transition: (transitionId: number, channel: ChannelKind, recipient: string) => `tr:${transitionId}:${channel}:${recipient}`,
  group: (groupId: number, channel: ChannelKind, recipient: string) => `grp:${groupId}:${channel}:${recipient}`,
  reminder: (alertId: string, cycle: number, n: number, channel: ChannelKind, recipient: string) => `rem:${alertId}:${cycle}:${n}:${channel}:${recipient}`,
  groupReminder: (groupId: number, n: number, channel: ChannelKind, recipient: string) => `grem:${groupId}:${n}:${channel}:${recipient}`,
  /** An update of a grouped message after a member changed; one per member transition that asked for it. */
  groupUpdate: (groupId: number, transitionId: number, recipient: string) => `gupd:${groupId}:${transitionId}:slack:${recipient}`,
  digest: (period: string, periodKey: string, channel: ChannelKind, recipient: string) => `dig:${period}:${periodKey}:${channel}:${recipient}`,
};

/** Thread of a message: an alert cycle's or a storm group's. */
export const threadKey = {
  alert: (alertId: string, cycle: number) => `alert:${alertId}:${cycle}`,
  group: (groupId: number) => `group:${groupId}`,
};

/** The Slack channels a storm group's grouped message was (or is being) posted to: where its replies and updates go. */
export async function groupPostChannels(client: pg.ClientBase, groupId: number): Promise<string[]> {
  const { rows } = await client.query<{ recipient: string }>(
    `select distinct recipient from vigie.deliveries
      where group_id = $1 and source = 'group' and channel = 'slack' and action = 'post' and status in ('pending', 'sent')`,
    [groupId],
  );
  return rows.map((r) => r.recipient);
}

/** Inserts rows; an existing key is left as it is (replays create nothing). Returns the new rows' ids. */
export async function insertDeliveries(client: pg.ClientBase, rows: readonly NewDelivery[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const { rows: out } = await client.query<{ id: number }>(
    `insert into vigie.deliveries (idempotency_key, source, transition_id, alert_id, cycle, group_id, digest_id, kind, channel,
                                   recipient, action, status, reason, summary, next_attempt_at)
     select r.key, r.source, r.transition_id, r.alert_id, r.cycle, r.group_id, r.digest_id, r.kind, r.channel,
            r.recipient, r.action, coalesce(r.status, 'pending'), r.reason, r.summary, coalesce(r.not_before, clock_timestamp())
       from jsonb_to_recordset($1::jsonb) as r(key text, source text, transition_id bigint, alert_id uuid, cycle integer,
            group_id bigint, digest_id bigint, kind text, channel text, recipient text, action text, status text, reason text,
            summary text, not_before timestamptz)
     on conflict (idempotency_key) do nothing
     returning id`,
    [
      JSON.stringify(
        rows.map((r) => ({
          key: r.key,
          source: r.source,
          transition_id: r.transitionId ?? null,
          alert_id: r.alertId ?? null,
          cycle: r.cycle ?? null,
          group_id: r.groupId ?? null,
          digest_id: r.digestId ?? null,
          kind: r.kind,
          channel: r.channel,
          recipient: r.recipient,
          action: r.action,
          status: r.status ?? null,
          reason: r.reason ?? null,
          summary: r.summary ?? null,
          not_before: r.notBefore?.toISOString() ?? null,
        })),
      ),
    ],
  );
  return out.map((r) => r.id);
}

/** Permanent failures in the last 24 h, by provider code: surfaced on /ready and in the metrics. */
export async function recentPermanentFailures(pool: pg.Pool): Promise<Array<{ channel: string; code: string; n: number }>> {
  const { rows } = await pool.query<{ channel: string; code: string; n: number }>(
    `select channel, coalesce(last_error_code, '?') as code, count(*)::int as n
       from vigie.deliveries
      where status = 'failed_permanent' and updated_at > now() - interval '24 hours'
      group by 1, 2 order by 3 desc`,
  );
  return rows;
}

/**
 * Transitions whose deliveries are all final: marked done, and their outbox
 * events processed (the listener re-dispatches unprocessed events after a
 * Redis wipe, so this is the last step of handling one).
 */
export async function finalizeTransitions(client: pg.ClientBase, transitionIds: readonly number[]): Promise<number[]> {
  if (transitionIds.length === 0) return [];
  const { rows } = await client.query<{ transition_id: number }>(
    `update vigie.notify_transitions nt set done_at = clock_timestamp()
      where nt.transition_id = any($1::bigint[]) and nt.done_at is null
        and not exists (select 1 from vigie.deliveries d where d.transition_id = nt.transition_id and d.status = 'pending')
      returning nt.transition_id`,
    [transitionIds],
  );
  const done = rows.map((r) => r.transition_id);
  // Already done earlier (a replay): their events are marked too.
  const { rows: doneAlready } = await client.query<{ transition_id: number }>(
    'select transition_id from vigie.notify_transitions where transition_id = any($1::bigint[]) and done_at is not null',
    [transitionIds],
  );
  const all = [...new Set([...done, ...doneAlready.map((r) => r.transition_id)])];
  if (all.length > 0) await markEventsProcessed(client, all);
  return all;
}

export async function markEventsProcessed(client: pg.ClientBase, transitionIds: readonly number[]): Promise<void> {
  await client.query(
    `update vigie.outbox set processed_at = clock_timestamp()
      where kind = 'alert.transition' and processed_at is null and (payload ->> 'transition_id')::bigint = any($1::bigint[])`,
    [transitionIds],
  );
}
