-- Vigie 0004 — notification delivery: the ledger and the notifier's state.
--
-- The notifier (services/notifier) turns every alert transition into
-- deliveries (Slack, email), one ledger row per transition × channel ×
-- recipient, keyed by an idempotency key. A delivery runs inside a
-- transaction holding its ledger row lock (SELECT … FOR UPDATE SKIP LOCKED):
-- a replica that finds the row locked tries later, a row already `sent` is
-- never sent again. See docs/contracts/notifications.md.
--
-- Everything lives in schema `vigie`, with RLS on, no grant to anon or
-- authenticated, and policies only for vigie_app. The notifier never reads
-- ML_PP's tables: transitions carry the alert's message and payload; the two
-- SECURITY DEFINER functions at the end expose only what digests and thread
-- replies need (open alerts, actors' display names).
-- PostgreSQL 15+.

-- ------------------------------------------------------------ storm groups
-- A burst of findings of one rule: the first goes at once (leader), the
-- others are held until the window ends, then sent one by one (a few) or as
-- one grouped message (a storm).
create table vigie.notify_groups (
  id bigserial primary key,
  check_code text not null,
  opened_at timestamptz not null default clock_timestamp(),
  window_ends_at timestamptz not null,
  status text not null default 'open' check (status in ('open', 'flushed')),
  -- Decided at flush: members sent one by one, or as one grouped message.
  mode text check (mode in ('individual', 'grouped')),
  -- Sent at once; null when a storm of this rule was already running.
  leader_transition_id bigint,
  member_count integer not null default 0,
  flushed_at timestamptz,
  next_reminder_at timestamptz,
  reminders integer not null default 0
);
create index notify_groups_rule_idx on vigie.notify_groups (check_code, id desc);
create index notify_groups_open_idx on vigie.notify_groups (window_ends_at) where status = 'open';
create index notify_groups_reminder_idx on vigie.notify_groups (next_reminder_at) where next_reminder_at is not null;
alter table vigie.notify_groups enable row level security;

-- ---------------------------------------------------------------- digests
-- One row per digest period: the unique key makes each period's digest
-- happen once, whatever the number of replicas or restarts. `figures` is the
-- digest as computed the first time, so a retry sends the same numbers.
create table vigie.digests (
  id bigserial primary key,
  period text not null check (period in ('daily', 'weekly')),
  period_key text not null,
  trigger text not null check (trigger in ('schedule', 'manual')),
  period_from timestamptz not null,
  period_to timestamptz not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  figures jsonb,
  created_at timestamptz not null default clock_timestamp(),
  sent_at timestamptz,
  constraint digests_period_key unique (period, period_key),
  check (period_to > period_from)
);
create index digests_latest_idx on vigie.digests (period, trigger, period_to desc);
alter table vigie.digests enable row level security;

-- ------------------------------------------------------------------ ledger
create table vigie.deliveries (
  id bigserial primary key,
  -- tr:<transition>:<channel>:<recipient>, grp:<group>:…, rem:<alert>:<cycle>:<n>:…,
  -- grem:<group>:<n>:…, dig:<period>:<period key>:…
  idempotency_key text not null,
  source text not null check (source in ('transition', 'group', 'reminder', 'digest')),
  transition_id bigint,
  alert_id uuid,
  cycle integer,
  group_id bigint references vigie.notify_groups (id),
  digest_id bigint references vigie.digests (id),
  -- opened, reopened, acknowledged, resolved, reminder, group, digest
  kind text not null,
  channel text not null check (channel in ('slack', 'email')),
  -- A Slack channel id (or the sink's channel name) or one email address.
  recipient text not null,
  action text not null check (action in ('post', 'update_reply', 'update', 'reply', 'email')),
  status text not null default 'pending'
    check (status in ('pending', 'sent', 'failed_permanent', 'silenced', 'suppressed')),
  -- Why a row is silenced / suppressed / failed (silence:<id>, grouped, flapping, no_message, gave_up…).
  reason text,
  -- What people get, in one line (the email subject, the Slack headline).
  summary text,
  attempts integer not null default 0,
  -- Pending rows are not tried before this instant (backoff, Retry-After, storm hold).
  next_attempt_at timestamptz not null default clock_timestamp(),
  provider text check (provider in ('slack', 'smtp', 'sink')),
  provider_channel text,
  -- Slack: the message's ts (post) or the reply's ts; thread_ts: the thread it went to.
  provider_ts text,
  thread_ts text,
  -- Email: the Message-ID the SMTP server accepted.
  provider_message_id text,
  last_error_code text,
  last_error text,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp(),
  sent_at timestamptz,
  constraint deliveries_idempotency_key unique (idempotency_key)
);
create index deliveries_pending_idx on vigie.deliveries (next_attempt_at, id) where status = 'pending';
create index deliveries_alert_idx on vigie.deliveries (alert_id, id);
create index deliveries_transition_idx on vigie.deliveries (transition_id);
create index deliveries_group_idx on vigie.deliveries (group_id) where group_id is not null;
create index deliveries_digest_idx on vigie.deliveries (digest_id) where digest_id is not null;
create index deliveries_failed_idx on vigie.deliveries (updated_at) where status = 'failed_permanent';
alter table vigie.deliveries enable row level security;

-- ------------------------------------------------------------ Slack threads
-- The message each alert cycle (or storm group) has in each channel: later
-- transitions update it in place and reply in its thread.
create table vigie.slack_threads (
  -- alert:<alert id>:<cycle> or group:<group id>
  thread_key text not null,
  channel text not null,
  ts text not null,
  alert_id uuid,
  cycle integer,
  group_id bigint references vigie.notify_groups (id),
  created_at timestamptz not null default clock_timestamp(),
  primary key (thread_key, channel)
);
create index slack_threads_alert_idx on vigie.slack_threads (alert_id, cycle);
alter table vigie.slack_threads enable row level security;

-- ---------------------------------------------------------- alert state
-- What the notifier knows of each alert: its current cycle (one Slack
-- message per cycle), the last transition it planned, reminders.
create table vigie.notify_alerts (
  alert_id uuid primary key,
  check_code text not null,
  severity text not null,
  status text not null check (status in ('OPEN', 'ACK', 'RESOLVED')),
  cycle integer not null default 1,
  cycle_started_at timestamptz not null,
  last_transition_id bigint not null,
  last_transition_at timestamptz not null,
  resolved_at timestamptz,
  -- The storm group the current cycle was held in (null when sent on its own).
  group_id bigint references vigie.notify_groups (id),
  next_reminder_at timestamptz,
  reminders integer not null default 0,
  -- The silence that held back this cycle's first message: when it ends (or is
  -- removed) while the alert is still OPEN, the message goes out.
  silence_id bigint,
  updated_at timestamptz not null default clock_timestamp()
);
create index notify_alerts_silenced_idx on vigie.notify_alerts (silence_id) where silence_id is not null;
create index notify_alerts_reminder_idx on vigie.notify_alerts (next_reminder_at) where status = 'OPEN' and next_reminder_at is not null;
create index notify_alerts_group_idx on vigie.notify_alerts (group_id) where group_id is not null;
alter table vigie.notify_alerts enable row level security;

-- What was decided for each transition, and when its deliveries were all final.
create table vigie.notify_transitions (
  transition_id bigint primary key,
  alert_id uuid not null,
  cycle integer not null,
  -- notify, held (storm), silenced, flapping, digest_only, no_message
  decision text not null,
  group_id bigint references vigie.notify_groups (id),
  detail jsonb not null default '{}'::jsonb,
  planned_at timestamptz not null default clock_timestamp(),
  done_at timestamptz
);
create index notify_transitions_alert_idx on vigie.notify_transitions (alert_id, transition_id);
create index notify_transitions_group_idx on vigie.notify_transitions (group_id) where group_id is not null;
create index notify_transitions_open_idx on vigie.notify_transitions (transition_id) where done_at is null;
alter table vigie.notify_transitions enable row level security;

-- ---------------------------------------------------------------- silences
-- Maintenance windows: `vigie silence add --rule CODE [--entity UUID] --for 2h --reason "…"`.
-- Silenced alerts are still recorded (system_alerts, transitions, and ledger
-- rows with status `silenced`); only the messages are held back.
create table vigie.silences (
  id bigserial primary key,
  check_code text,
  entity_id text,
  starts_at timestamptz not null default clock_timestamp(),
  ends_at timestamptz not null,
  reason text not null check (length(btrim(reason)) > 0),
  created_by text not null,
  created_at timestamptz not null default clock_timestamp(),
  removed_at timestamptz,
  removed_by text,
  check (check_code is not null or entity_id is not null),
  check (ends_at > starts_at)
);
create index silences_active_idx on vigie.silences (ends_at) where removed_at is null;
alter table vigie.silences enable row level security;

-- ------------------------------------------------------- read functions
-- Open alerts (OPEN or ACK) as ML_PP's table holds them now: the digest's
-- "open alerts by severity" and "still open", including alerts older than
-- Vigie's install.
create function vigie.notifier_open_alerts()
returns table (id uuid, check_code text, severity text, entity_type text, entity_id text, message text, payload jsonb,
               status text, first_detected_at timestamptz, last_detected_at timestamptz,
               acknowledged_by uuid, acknowledged_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select a.id, a.check_code, a.severity, a.entity_type, a.entity_id::text, a.message, a.payload, a.status,
         a.first_detected_at, a.last_detected_at, a.acknowledged_by, a.acknowledged_at
    from public.system_alerts a
   where a.status in ('OPEN', 'ACK')
$$;
revoke all on function vigie.notifier_open_alerts() from public;
grant execute on function vigie.notifier_open_alerts() to vigie_app;

-- Display names of the people who acknowledged or resolved alerts (thread
-- replies say "Pris en charge par Valery K."). Only the name, nothing else.
create function vigie.notifier_actor_names(p_ids uuid[])
returns table (user_id uuid, name text)
language plpgsql stable security definer
set search_path = pg_catalog, public
as $$
#variable_conflict use_column
begin
  return query
  select p.user_id, coalesce(nullif(btrim(p.nom_complet), ''), nullif(btrim(p.email), ''))::text
    from public.profils p
   where p.user_id = any (p_ids);
exception when undefined_table or undefined_column then
  return;
end $$;
revoke all on function vigie.notifier_actor_names(uuid[]) from public;
grant execute on function vigie.notifier_actor_names(uuid[]) to vigie_app;

-- ------------------------------------------------------------------ grants
-- vigie_app writes the ledger and its own state; it never deletes.
grant select, insert, update on vigie.notify_groups, vigie.digests, vigie.deliveries, vigie.slack_threads,
  vigie.notify_alerts, vigie.notify_transitions, vigie.silences to vigie_app;
grant usage on sequence vigie.notify_groups_id_seq, vigie.digests_id_seq, vigie.deliveries_id_seq, vigie.silences_id_seq to vigie_app;

create policy vigie_app_all on vigie.notify_groups for all to vigie_app using (true) with check (true);
create policy vigie_app_all on vigie.digests for all to vigie_app using (true) with check (true);
create policy vigie_app_all on vigie.deliveries for all to vigie_app using (true) with check (true);
create policy vigie_app_all on vigie.slack_threads for all to vigie_app using (true) with check (true);
create policy vigie_app_all on vigie.notify_alerts for all to vigie_app using (true) with check (true);
create policy vigie_app_all on vigie.notify_transitions for all to vigie_app using (true) with check (true);
create policy vigie_app_all on vigie.silences for all to vigie_app using (true) with check (true);
