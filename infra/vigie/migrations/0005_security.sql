-- Vigie 0005 — suspicious access: ingestion, journal, live DDL watch, rules.
--
-- * vigie.access_events: what Postgres never sees (failed logins, 401/403 from
--   the API gateway or Supabase log drains, app-side denials), posted to the
--   listener's POST /v1/access-events and written here together with one
--   outbox event `access.event` per batch, atomically, by
--   vigie.ingest_access_events (SECURITY DEFINER).
-- * vigie.security_journal: one row per suspicious event, append-only for
--   everyone (trigger) and never granted UPDATE/DELETE/TRUNCATE.
-- * An event trigger on policy and RLS DDL that appends `ddl.policy_changed`
--   to the outbox the moment a policy is created/altered/dropped or RLS is
--   switched off; it never makes the DDL fail. Event triggers need a
--   superuser (on Supabase, the `postgres` role): when the migration role
--   cannot create it, it is skipped with a NOTICE and the periodic sweep
--   still finds the same problems (later, not live). See docs/security.md.
-- * One SQL function per security rule (vigie.sec_*), with an optional scope:
--   the evaluator calls them per event (scoped) and in its sweep (unscoped).
--   Messages, thresholds and the system_alerts sync live in @vigie/security.
-- Everything lives in schema vigie with RLS on and policies only TO vigie_app.
-- vigie_app reads ML_PP's and Supabase's tables only through the SECURITY
-- DEFINER functions below. PostgreSQL 15+.

-- ------------------------------------------------------------- helpers
-- A text as inet, or null when it is not an address (auth.audit_log_entries
-- keeps ip_address as free text, '' when unknown).
create function vigie.try_inet(p text) returns inet
language plpgsql immutable
set search_path = pg_catalog
as $$
begin
  if p is null or btrim(p) = '' then
    return null;
  end if;
  return btrim(p)::inet;
exception when others then
  return null;
end $$;

-- A text as uuid, or null (outbox payloads are read defensively).
create function vigie.try_uuid(p text) returns uuid
language sql immutable
set search_path = pg_catalog
as $$
  select case when p ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then p::uuid end
$$;

-- Stable uuid for an alert key that is not a row id (an address, an email, a
-- policy), as public.system_alerts.entity_id is a uuid.
create function vigie.sec_key(p text) returns uuid
language sql immutable
set search_path = pg_catalog
as $$ select md5(p)::uuid $$;

-- Privilege rank of an ML_PP role, to tell a raise from a demotion.
create function vigie.sec_role_rank(p_role text) returns integer
language sql immutable
set search_path = pg_catalog
as $$
  select case p_role
    when 'admin' then 4 when 'directeur' then 3 when 'gerant' then 2 when 'pca' then 2
    when 'operateur' then 1 when 'lecture' then 0 else 0 end
$$;

-- Is this instant inside the working hours? p_hours: [{days:[1..7 ISO], start:'HH:MM', end:'HH:MM'}]
-- (end exclusive), in time zone p_tz. Null hours = always working hours.
create function vigie.sec_in_working_hours(p_at timestamptz, p_hours jsonb, p_tz text) returns boolean
language sql stable
set search_path = pg_catalog
as $$
  select p_hours is null or exists (
    select 1
      from jsonb_array_elements(p_hours) s,
           lateral (select p_at at time zone p_tz as l) loc
     where extract(isodow from loc.l)::int in (select jsonb_array_elements_text(s -> 'days')::int)
       and loc.l::time >= (s ->> 'start')::time
       and loc.l::time < (s ->> 'end')::time
  )
$$;

-- ------------------------------------------------------- access events
create table vigie.access_batches (
  id uuid primary key default gen_random_uuid(),
  -- Optional client key (Idempotency-Key header): a retried batch is stored once.
  idempotency_key text unique check (idempotency_key ~ '^[A-Za-z0-9._:-]{1,128}$'),
  event_count integer not null check (event_count between 1 and 10000),
  received_at timestamptz not null default clock_timestamp()
);
alter table vigie.access_batches enable row level security;

create table vigie.access_events (
  id bigserial primary key,
  batch_id uuid not null references vigie.access_batches (id),
  seq integer not null,
  at timestamptz not null,
  received_at timestamptz not null default clock_timestamp(),
  kind text not null check (kind in ('login_failed', 'login_succeeded', 'logout', 'http_401', 'http_403', 'http_429',
                                     'app_denied', 'password_reset_requested', 'mfa_failed')),
  user_id uuid,
  email text check (length(email) <= 320),
  role text check (role ~ '^[a-z_]{1,40}$'),
  ip inet,
  user_agent text check (length(user_agent) <= 512),
  path text check (length(path) <= 2048),
  method text check (method in ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
  status integer check (status between 100 and 599),
  details jsonb not null default '{}'::jsonb check (jsonb_typeof(details) = 'object' and pg_column_size(details) <= 8192),
  -- The Supabase user this event is about: user_id, else the auth.users row
  -- whose email matches (resolved at ingestion).
  account_id uuid,
  -- Grouping key of the per-account rules: account_id, else a key of the email.
  account_key uuid,
  unique (batch_id, seq)
);
create index access_events_at_idx on vigie.access_events (at);
create index access_events_account_idx on vigie.access_events (kind, account_key, at) where account_key is not null;
create index access_events_ip_idx on vigie.access_events (kind, ip, at) where ip is not null;
create index access_events_batch_idx on vigie.access_events (batch_id);
alter table vigie.access_events enable row level security;

-- Stores one validated batch and its outbox event in one statement: all or
-- nothing. p_events: the JSON array the listener validated (docs/contracts/access-events.md).
-- A batch whose idempotency key was already stored returns the first batch
-- (duplicate = true) and writes nothing.
create function vigie.ingest_access_events(p_events jsonb, p_idempotency_key text default null)
returns table (batch_id uuid, accepted integer, duplicate boolean)
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
#variable_conflict use_column
declare
  v_batch uuid;
  v_n integer;
begin
  if jsonb_typeof(p_events) is distinct from 'array' then
    raise exception 'VIGIE_INGEST_INVALID: events doit être un tableau JSON' using errcode = '22023';
  end if;
  v_n := jsonb_array_length(p_events);
  if v_n < 1 or v_n > 10000 then
    raise exception 'VIGIE_INGEST_INVALID: % événements (1 à 10000 par lot)', v_n using errcode = '22023';
  end if;
  insert into vigie.access_batches as b (idempotency_key, event_count) values (p_idempotency_key, v_n)
  on conflict (idempotency_key) do nothing
  returning b.id into v_batch;
  if v_batch is null then
    return query select b.id, b.event_count, true from vigie.access_batches b where b.idempotency_key = p_idempotency_key;
    return;
  end if;
  with src as (
    select x.ord::int as seq, x.e,
           nullif(btrim(lower(x.e ->> 'email')), '') as email,
           (x.e ->> 'user_id')::uuid as user_id
      from jsonb_array_elements(p_events) with ordinality as x(e, ord)
  )
  insert into vigie.access_events (batch_id, seq, at, kind, user_id, email, role, ip, user_agent, path, method, status, details,
                                   account_id, account_key)
  select v_batch, s.seq, (s.e ->> 'at')::timestamptz, s.e ->> 'kind', s.user_id, s.email, s.e ->> 'role',
         (s.e ->> 'ip')::inet, s.e ->> 'user_agent', s.e ->> 'path', s.e ->> 'method', (s.e ->> 'status')::integer,
         coalesce(s.e -> 'details', '{}'::jsonb), acc.id,
         coalesce(acc.id, case when s.email is not null then vigie.sec_key('email:' || s.email) end)
    from src s
    left join lateral (
      select coalesce(s.user_id, (select u.id from auth.users u where lower(u.email) = s.email order by u.created_at limit 1)) as id
    ) acc on true;
  insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
  values ('access.event', 'ACCESS_BATCH', v_batch::text, null, jsonb_build_object('batch_id', v_batch, 'count', v_n));
  perform pg_notify('vigie_outbox', '');
  return query select v_batch, v_n, false;
end $$;

-- ------------------------------------------------------------ journal
create table vigie.security_journal (
  id bigserial primary key,
  -- When the event happened, and when Vigie recorded it.
  at timestamptz not null,
  recorded_at timestamptz not null default clock_timestamp(),
  -- login_failed, http_401, http_403, app_denied, role_changed, log_forged,
  -- privileged_action, auth_<action>, ddl_policy, rls_exposure, access_burst,
  -- alert_acknowledged… (docs/security.md)
  kind text not null check (kind ~ '^[a-z][a-z0-9_]{1,62}$'),
  -- The most severe alert it raised; INFO when it raised none.
  severity text not null check (severity in ('INFO', 'WARN', 'CRITICAL')),
  actor_user_id uuid,
  actor_email text,
  actor_role text,
  ip inet,
  user_agent text,
  -- What was touched: PROFIL, LOG_ACTION, ADJUSTMENT, TABLE, POLICY, PATH, USER, ALERT…
  target_type text,
  target_id text,
  target_label text,
  details jsonb not null default '{}'::jsonb,
  -- The alerts it raised (system_alerts ids) and their rule codes.
  check_codes text[] not null default '{}',
  alert_ids uuid[] not null default '{}',
  -- Where it came from, and its idempotency key (one row per source event).
  source text not null,
  source_key text not null unique,
  -- The vigie.outbox event that carried it (null for sweep findings).
  event_id bigint
);
create index security_journal_at_idx on vigie.security_journal (at desc);
create index security_journal_kind_idx on vigie.security_journal (kind, at desc);
create index security_journal_actor_idx on vigie.security_journal (actor_user_id, at desc);
create index security_journal_ip_idx on vigie.security_journal (ip, at desc) where ip is not null;
alter table vigie.security_journal enable row level security;

-- Append-only for every role, owner and superuser included (a superuser can
-- still drop the trigger: that is itself DDL, visible in the server log).
create function vigie.security_journal_append_only() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  raise exception 'VIGIE_JOURNAL_APPEND_ONLY: % interdit sur vigie.security_journal (journal en ajout seul)', TG_OP
    using errcode = '42501';
end $$;
revoke all on function vigie.security_journal_append_only() from public;
create trigger security_journal_no_update_delete before update or delete on vigie.security_journal
  for each row execute function vigie.security_journal_append_only();
create trigger security_journal_no_truncate before truncate on vigie.security_journal
  for each statement execute function vigie.security_journal_append_only();

-- Addresses each user signed in from (rule SEC_ADMIN_NEW_ADDRESS).
create table vigie.known_addresses (
  user_id uuid not null,
  ip inet not null,
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null,
  first_source text not null,
  primary key (user_id, ip)
);
alter table vigie.known_addresses enable row level security;

-- Learnt from Supabase's history at installation, so past sign-ins are not
-- reported as new addresses.
insert into vigie.known_addresses (user_id, ip, first_seen_at, last_seen_at, first_source)
select vigie.try_uuid(a.payload ->> 'actor_id'), vigie.try_inet(a.ip_address), min(a.created_at), max(a.created_at), 'install'
  from auth.audit_log_entries a
 where a.payload ->> 'action' = 'login'
   and vigie.try_uuid(a.payload ->> 'actor_id') is not null
   and vigie.try_inet(a.ip_address) is not null
   and a.created_at is not null
 group by 1, 2
on conflict do nothing;

-- ------------------------------------------------ readers of ML_PP data
-- Who a user is: email and role (profils first, auth.users for the email).
create function vigie.sec_users(p_ids uuid[])
returns table (user_id uuid, email text, role text, nom_complet text, profil_id uuid)
language sql stable security definer
set search_path = pg_catalog, vigie, public
as $$
  select i.id, coalesce(p.email, u.email), p.role, p.nom_complet, p.id
    from unnest(p_ids) as i(id)
    left join auth.users u on u.id = i.id
    left join public.profils p on p.user_id = i.id
$$;

-- Supabase Auth journal entries: one (p_id) or those since p_since with the given actions.
create function vigie.sec_auth_entries(p_id uuid default null, p_since timestamptz default null, p_actions text[] default null)
returns table (id uuid, created_at timestamptz, ip inet, action text, actor_id uuid, actor_username text, payload jsonb)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  select a.id, coalesce(a.created_at, now()), vigie.try_inet(a.ip_address), a.payload ->> 'action',
         vigie.try_uuid(a.payload ->> 'actor_id'),
         a.payload ->> 'actor_username', a.payload::jsonb
    from auth.audit_log_entries a
   where (p_id is null or a.id = p_id)
     and (p_since is null or a.created_at >= p_since)
     and (p_actions is null or a.payload ->> 'action' = any (p_actions))
   order by a.created_at, a.id
$$;

-- ------------------------------------------------------------- rules
-- Each rule: one function, optional scope (a batch, an outbox event, a
-- table); unscoped = the sweep. They return facts; @vigie/security turns
-- them into findings (messages, payload) and syncs public.system_alerts.

-- SEC_LOGIN_FAILED_BURST_ACCOUNT: >= p_threshold failed logins on one account
-- within p_window (ending at the account's latest event of the batch, or now).
create function vigie.sec_login_failed_burst_account(p_threshold integer, p_window interval, p_batch uuid default null)
returns table (entity_id uuid, account_id uuid, email text, failures integer, addresses integer, first_at timestamptz, last_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  with scope as (
    select e.account_key as k, max(e.at) as t_end from vigie.access_events e
     where p_batch is not null and e.batch_id = p_batch and e.kind = 'login_failed' and e.account_key is not null
     group by 1
    union all
    select e.account_key, now() from vigie.access_events e
     where p_batch is null and e.kind = 'login_failed' and e.account_key is not null and e.at > now() - p_window and e.at <= now()
     group by 1
  )
  select s.k, max(e.account_id::text)::uuid, (array_agg(e.email order by e.at desc) filter (where e.email is not null))[1],
         count(*)::int, count(distinct e.ip)::int, min(e.at), max(e.at)
    from scope s
    join vigie.access_events e on e.kind = 'login_failed' and e.account_key = s.k and e.at > s.t_end - p_window and e.at <= s.t_end
   group by s.k
  having count(*) >= p_threshold
$$;

-- SEC_LOGIN_FAILED_BURST_IP: >= p_threshold failed logins from one address within p_window.
create function vigie.sec_login_failed_burst_ip(p_threshold integer, p_window interval, p_batch uuid default null)
returns table (entity_id uuid, ip inet, failures integer, accounts integer, first_at timestamptz, last_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  with scope as (
    select e.ip as k, max(e.at) as t_end from vigie.access_events e
     where p_batch is not null and e.batch_id = p_batch and e.kind = 'login_failed' and e.ip is not null
     group by 1
    union all
    select e.ip, now() from vigie.access_events e
     where p_batch is null and e.kind = 'login_failed' and e.ip is not null and e.at > now() - p_window and e.at <= now()
     group by 1
  )
  select vigie.sec_key('ip:' || host(s.k)), s.k, count(*)::int, count(distinct e.account_key)::int, min(e.at), max(e.at)
    from scope s
    join vigie.access_events e on e.kind = 'login_failed' and e.ip = s.k and e.at > s.t_end - p_window and e.at <= s.t_end
   group by s.k
  having count(*) >= p_threshold
$$;

-- SEC_ACCESS_DENIED_BURST_USER: >= p_threshold 401/403/app denials for one user within p_window.
create function vigie.sec_access_denied_burst_user(p_threshold integer, p_window interval, p_batch uuid default null)
returns table (entity_id uuid, account_id uuid, email text, denials integer, addresses integer, first_at timestamptz, last_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  with scope as (
    select e.account_key as k, max(e.at) as t_end from vigie.access_events e
     where p_batch is not null and e.batch_id = p_batch and e.kind in ('http_401', 'http_403', 'app_denied') and e.account_key is not null
     group by 1
    union all
    select e.account_key, now() from vigie.access_events e
     where p_batch is null and e.kind in ('http_401', 'http_403', 'app_denied') and e.account_key is not null
       and e.at > now() - p_window and e.at <= now()
     group by 1
  )
  select s.k, max(e.account_id::text)::uuid, (array_agg(e.email order by e.at desc) filter (where e.email is not null))[1],
         count(*)::int, count(distinct e.ip)::int, min(e.at), max(e.at)
    from scope s
    join vigie.access_events e on e.kind in ('http_401', 'http_403', 'app_denied') and e.account_key = s.k
                              and e.at > s.t_end - p_window and e.at <= s.t_end
   group by s.k
  having count(*) >= p_threshold
$$;

-- SEC_ACCESS_DENIED_BURST_IP: >= p_threshold 401/403/app denials from one address within p_window.
create function vigie.sec_access_denied_burst_ip(p_threshold integer, p_window interval, p_batch uuid default null)
returns table (entity_id uuid, ip inet, denials integer, accounts integer, first_at timestamptz, last_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  with scope as (
    select e.ip as k, max(e.at) as t_end from vigie.access_events e
     where p_batch is not null and e.batch_id = p_batch and e.kind in ('http_401', 'http_403', 'app_denied') and e.ip is not null
     group by 1
    union all
    select e.ip, now() from vigie.access_events e
     where p_batch is null and e.kind in ('http_401', 'http_403', 'app_denied') and e.ip is not null
       and e.at > now() - p_window and e.at <= now()
     group by 1
  )
  select vigie.sec_key('ip:' || host(s.k)), s.k, count(*)::int, count(distinct e.account_key)::int, min(e.at), max(e.at)
    from scope s
    join vigie.access_events e on e.kind in ('http_401', 'http_403', 'app_denied') and e.ip = s.k
                              and e.at > s.t_end - p_window and e.at <= s.t_end
   group by s.k
  having count(*) >= p_threshold
$$;

-- SEC_ROLE_CHANGED: every change of profils.role (outbox profil.role_changed).
-- A new profile counts when it is created privileged or by its own user above
-- 'lecture'. critical: becomes one of p_privileged, or a user changed their
-- own role to one that is not lower.
create function vigie.sec_role_changed(p_privileged text[], p_event_id bigint default null, p_since timestamptz default null)
returns table (event_id bigint, at timestamptz, entity_id uuid, profil_id uuid, user_id uuid, from_role text, to_role text,
               actor uuid, db_user text, self_change boolean, critical boolean)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  with ev as (
    select o.id, o.created_at, vigie.try_uuid(o.entity_id) as profil_id, vigie.try_uuid(o.payload ->> 'user_id') as user_id,
           o.payload ->> 'from' as from_role, o.payload ->> 'to' as to_role,
           vigie.try_uuid(o.payload ->> 'actor') as actor, o.payload ->> 'db_user' as db_user
      from vigie.outbox o
     where o.kind = 'profil.role_changed'
       and (p_event_id is null or o.id = p_event_id)
       and (p_since is null or o.created_at >= p_since)
  ), x as (
    select ev.*, (ev.actor is not null and ev.actor = ev.user_id) as self_change from ev
  )
  select x.id, x.created_at, vigie.sec_key('role_change:' || x.id), x.profil_id, x.user_id, x.from_role, x.to_role,
         x.actor, x.db_user, x.self_change,
         (x.to_role = any (p_privileged))
           or (x.self_change and vigie.sec_role_rank(x.to_role) >= vigie.sec_role_rank(coalesce(x.from_role, 'lecture'))
               and x.to_role is distinct from 'lecture')
    from x
   where x.from_role is not null
      or x.to_role = any (p_privileged)
      or (x.self_change and x.to_role is distinct from 'lecture')
   order by x.id
$$;

-- SEC_LOG_ACTION_FORGED: a log_actions row whose user_id is not the user
-- acting in the request (JWT sub). Rows without a request user (triggers run
-- by the service role, manual SQL) or without user_id are not forged.
create function vigie.sec_log_action_forged(p_tz text, p_event_id bigint default null, p_since timestamptz default null)
returns table (event_id bigint, at timestamptz, entity_id uuid, log_id uuid, claimed_user uuid, actor uuid,
               action text, module text, niveau text)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  select o.id, o.created_at,
         vigie.sec_key('forged:' || (o.payload ->> 'actor') || ':' || ((o.created_at at time zone p_tz)::date)::text),
         vigie.try_uuid(o.entity_id), vigie.try_uuid(o.payload ->> 'user_id'), vigie.try_uuid(o.payload ->> 'actor'),
         o.payload ->> 'action', o.payload ->> 'module', o.payload ->> 'niveau'
    from vigie.outbox o
   where o.kind = 'log_action.created'
     and (p_event_id is null or o.id = p_event_id)
     and (p_since is null or o.created_at >= p_since)
     and vigie.try_uuid(o.payload ->> 'actor') is not null
     and vigie.try_uuid(o.payload ->> 'user_id') is not null
     and vigie.try_uuid(o.payload ->> 'user_id') <> vigie.try_uuid(o.payload ->> 'actor')
   order by o.id
$$;

-- SEC_PRIVILEGED_OFF_HOURS: a stock adjustment or a role change outside the
-- working hours (p_hours in p_tz). One alert per actor and local day.
create function vigie.sec_privileged_off_hours(p_hours jsonb, p_tz text, p_event_id bigint default null, p_since timestamptz default null)
returns table (event_id bigint, at timestamptz, entity_id uuid, what text, target_id text, actor uuid, db_user text, local_time text)
language sql stable security definer
set search_path = pg_catalog, vigie, public
as $$
  with ev as (
    select o.id, o.kind, o.created_at, o.entity_id,
           coalesce(vigie.try_uuid(o.payload ->> 'actor'),
                    case when o.kind = 'adjustment.created'
                         then (select a.created_by from public.stocks_adjustments a where a.id = vigie.try_uuid(o.entity_id)) end) as actor,
           o.payload ->> 'db_user' as db_user
      from vigie.outbox o
     where o.kind in ('adjustment.created', 'profil.role_changed')
       and (p_event_id is null or o.id = p_event_id)
       and (p_since is null or o.created_at >= p_since)
       and not vigie.sec_in_working_hours(o.created_at, p_hours, p_tz)
  )
  select ev.id, ev.created_at,
         vigie.sec_key('offhours:' || coalesce(ev.actor::text, 'db:' || coalesce(ev.db_user, '?')) || ':'
                       || ((ev.created_at at time zone p_tz)::date)::text),
         case ev.kind when 'adjustment.created' then 'adjustment' else 'role_change' end,
         ev.entity_id, ev.actor, ev.db_user, to_char(ev.created_at at time zone p_tz, 'YYYY-MM-DD HH24:MI')
    from ev
   order by ev.id
$$;

-- SEC_RLS_PUBLIC_POLICY: a permissive policy whose roles include {public}
-- (critical) or anon, on a table of p_schemas (p_table = 'schema.table' to scope).
create function vigie.sec_rls_public_policy(p_schemas text[], p_table text default null)
returns table (entity_id uuid, schema_name text, table_name text, policy_name text, roles text[], command text, is_public boolean)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  select vigie.sec_key('policy:' || n.nspname || '.' || c.relname || '.' || p.polname),
         n.nspname::text, c.relname::text, p.polname::text,
         array(select case when r = 0 then 'public' else coalesce((select rolname::text from pg_roles where oid = r), r::text) end
                 from unnest(p.polroles) r order by 1),
         case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end,
         0::oid = any (p.polroles)
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any (p_schemas)
     and (p_table is null or n.nspname || '.' || c.relname = p_table)
     and p.polpermissive
     and (0::oid = any (p.polroles) or exists (select 1 from pg_roles r where r.oid = any (p.polroles) and r.rolname = 'anon'))
   order by 2, 3, 4
$$;

-- SEC_RLS_DISABLED: a table of p_schemas with row-level security off
-- (partitions and extension-owned tables aside; p_ignore: names or schema.names).
create function vigie.sec_rls_disabled(p_schemas text[], p_ignore text[] default '{}', p_table text default null)
returns table (entity_id uuid, schema_name text, table_name text, policies integer)
language sql stable security definer
set search_path = pg_catalog, vigie
as $$
  select vigie.sec_key('table:' || n.nspname || '.' || c.relname), n.nspname::text, c.relname::text,
         (select count(*)::int from pg_policy p where p.polrelid = c.oid)
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p')
     and not c.relispartition
     and not c.relrowsecurity
     and n.nspname = any (p_schemas)
     and (p_table is null or n.nspname || '.' || c.relname = p_table)
     and not (c.relname = any (coalesce(p_ignore, '{}')) or n.nspname || '.' || c.relname = any (coalesce(p_ignore, '{}')))
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
   order by 2, 3
$$;

-- SEC_ADMIN_NEW_ADDRESS: a user of p_roles signs in (Supabase 'login' or a
-- posted login_succeeded) from an address never seen for them, while other
-- addresses are known (the very first address is learnt silently). Learns
-- every address it sees, so it is VOLATILE; scoped by the journal key of one
-- sign-in ('auth:<audit id>' or 'access:<id>') or unscoped since p_since.
create function vigie.sec_admin_new_address(p_roles text[], p_source_key text default null, p_since timestamptz default null)
returns table (source_key text, at timestamptz, entity_id uuid, user_id uuid, email text, role text, ip inet, known integer)
language plpgsql volatile security definer
set search_path = pg_catalog, vigie, public
as $$
#variable_conflict use_column
declare
  r record;
  v_known integer;
  v_new boolean;
  v_role text;
  v_email text;
begin
  for r in
    select s.* from (
      select 'auth:' || a.id as skey, coalesce(a.created_at, now()) as at,
             vigie.try_uuid(a.payload ->> 'actor_id') as uid,
             vigie.try_inet(a.ip_address) as ip
        from auth.audit_log_entries a
       where a.payload ->> 'action' = 'login'
         and (p_source_key is null or p_source_key = 'auth:' || a.id)
         and (p_since is null or a.created_at >= p_since)
         and (p_source_key is not null or p_since is not null)
      union all
      select 'access:' || e.id, e.at, e.account_id, e.ip
        from vigie.access_events e
       where e.kind = 'login_succeeded'
         and (p_source_key is null or p_source_key = 'access:' || e.id)
         and (p_since is null or e.at >= p_since)
         and (p_source_key is not null or p_since is not null)
    ) s
    where s.uid is not null and s.ip is not null
      and (p_source_key is not null
           or not exists (select 1 from vigie.known_addresses k where k.user_id = s.uid and k.ip = s.ip))
    order by s.at, s.skey
  loop
    perform pg_advisory_xact_lock(hashtext('vigie:addr:' || r.uid::text));
    select count(*)::int into v_known from vigie.known_addresses k where k.user_id = r.uid;
    insert into vigie.known_addresses as k (user_id, ip, first_seen_at, last_seen_at, first_source)
    values (r.uid, r.ip, r.at, r.at, r.skey)
    on conflict (user_id, ip) do nothing;
    v_new := found;
    if not v_new then
      update vigie.known_addresses k set last_seen_at = greatest(k.last_seen_at, r.at) where k.user_id = r.uid and k.ip = r.ip;
      continue;
    end if;
    if v_known = 0 then
      continue; -- first address ever seen for this user: learnt, not reported
    end if;
    select p.role, coalesce(p.email, u.email) into v_role, v_email
      from (select r.uid as id) i
      left join public.profils p on p.user_id = i.id
      left join auth.users u on u.id = i.id;
    if v_role = any (p_roles) then
      return query select r.skey, r.at, vigie.sec_key('admin_address:' || r.uid::text || ':' || host(r.ip)),
                          r.uid, v_email, v_role, r.ip, v_known;
    end if;
  end loop;
end $$;

-- --------------------------------------------------- DDL watch (live)
-- Appends `ddl.policy_changed` for CREATE/ALTER/DROP POLICY, and for
-- CREATE/ALTER TABLE when the table ends up without RLS or an RLS alert is
-- open on it. Tables of schemas vigie, pg_* and information_schema are
-- ignored. Never raises: a failure is recorded and the DDL goes on.
create function vigie.capture_policy_ddl() returns event_trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
declare
  r record;
  v_schema text;
  v_table text;
  v_policy text;
  v_rls boolean;
  v_roles text[];
  v_n integer := 0;
begin
  begin
    if tg_event = 'sql_drop' then
      for r in select * from pg_event_trigger_dropped_objects() where object_type = 'policy' loop
        v_schema := r.address_names[1];
        v_table := r.address_names[2];
        v_policy := r.address_names[3];
        if v_schema is null or v_schema = 'vigie' or v_schema like 'pg\_%' or v_schema = 'information_schema' then
          continue;
        end if;
        insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
        values ('ddl.policy_changed', 'DDL', v_schema || '.' || v_table, null,
                jsonb_build_object('tag', tg_tag, 'object_type', 'policy', 'identity', r.object_identity,
                                   'schema', v_schema, 'table', v_table, 'policy', v_policy,
                                   'db_user', session_user, 'current_role', current_user, 'actor', vigie.request_actor()));
        v_n := v_n + 1;
      end loop;
    else
      for r in select * from pg_event_trigger_ddl_commands() loop
        v_policy := null;
        v_roles := null;
        if r.object_type = 'policy' then
          select n.nspname, c.relname, p.polname, c.relrowsecurity,
                 array(select case when x = 0 then 'public' else coalesce((select rolname::text from pg_roles where oid = x), x::text) end
                         from unnest(p.polroles) x)
            into v_schema, v_table, v_policy, v_rls, v_roles
            from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
           where p.oid = r.objid;
        elsif r.object_type = 'table' then
          select n.nspname, c.relname, c.relrowsecurity into v_schema, v_table, v_rls
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.oid = r.objid and c.relkind in ('r', 'p') and not c.relispartition;
          if not found then
            continue;
          end if;
          -- Plain table DDL matters only when RLS is off now, or was reported off.
          if v_rls and not exists (
               select 1 from public.system_alerts a
                where a.check_code = 'SEC_RLS_DISABLED' and a.status <> 'RESOLVED'
                  and a.entity_id = vigie.sec_key('table:' || v_schema || '.' || v_table)) then
            continue;
          end if;
        else
          continue;
        end if;
        if v_schema is null or v_schema = 'vigie' or v_schema like 'pg\_%' or v_schema = 'information_schema' then
          continue;
        end if;
        insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
        values ('ddl.policy_changed', 'DDL', v_schema || '.' || v_table, null,
                jsonb_build_object('tag', r.command_tag, 'object_type', r.object_type, 'identity', r.object_identity,
                                   'schema', v_schema, 'table', v_table, 'policy', v_policy, 'roles', to_jsonb(v_roles),
                                   'rls_enabled', v_rls, 'db_user', session_user, 'current_role', current_user,
                                   'actor', vigie.request_actor()));
        v_n := v_n + 1;
      end loop;
    end if;
    if v_n > 0 then
      perform pg_notify('vigie_outbox', '');
    end if;
  exception when others then
    perform vigie.report_trigger_failure('vigie_policy_ddl', coalesce(tg_tag, '?'), SQLSTATE, SQLERRM);
  end;
end $$;
revoke all on function vigie.capture_policy_ddl() from public;

-- ------------------------------------------------------------- grants
revoke all on function vigie.try_inet(text), vigie.try_uuid(text), vigie.sec_key(text), vigie.sec_role_rank(text),
  vigie.sec_in_working_hours(timestamptz, jsonb, text), vigie.ingest_access_events(jsonb, text), vigie.sec_users(uuid[]),
  vigie.sec_auth_entries(uuid, timestamptz, text[]),
  vigie.sec_login_failed_burst_account(integer, interval, uuid), vigie.sec_login_failed_burst_ip(integer, interval, uuid),
  vigie.sec_access_denied_burst_user(integer, interval, uuid), vigie.sec_access_denied_burst_ip(integer, interval, uuid),
  vigie.sec_role_changed(text[], bigint, timestamptz), vigie.sec_log_action_forged(text, bigint, timestamptz),
  vigie.sec_privileged_off_hours(jsonb, text, bigint, timestamptz), vigie.sec_rls_public_policy(text[], text),
  vigie.sec_rls_disabled(text[], text[], text), vigie.sec_admin_new_address(text[], text, timestamptz) from public;
grant execute on function vigie.try_inet(text), vigie.try_uuid(text), vigie.sec_key(text), vigie.sec_role_rank(text),
  vigie.sec_in_working_hours(timestamptz, jsonb, text), vigie.ingest_access_events(jsonb, text), vigie.sec_users(uuid[]),
  vigie.sec_auth_entries(uuid, timestamptz, text[]),
  vigie.sec_login_failed_burst_account(integer, interval, uuid), vigie.sec_login_failed_burst_ip(integer, interval, uuid),
  vigie.sec_access_denied_burst_user(integer, interval, uuid), vigie.sec_access_denied_burst_ip(integer, interval, uuid),
  vigie.sec_role_changed(text[], bigint, timestamptz), vigie.sec_log_action_forged(text, bigint, timestamptz),
  vigie.sec_privileged_off_hours(jsonb, text, bigint, timestamptz), vigie.sec_rls_public_policy(text[], text),
  vigie.sec_rls_disabled(text[], text[], text), vigie.sec_admin_new_address(text[], text, timestamptz) to vigie_app;

-- vigie_app reads access events and addresses, appends to the journal; it
-- never updates or deletes any of them. Ingestion goes through the function.
grant select on vigie.access_batches, vigie.access_events, vigie.known_addresses to vigie_app;
grant select, insert on vigie.security_journal to vigie_app;
grant usage on sequence vigie.security_journal_id_seq to vigie_app;
create policy vigie_app_read on vigie.access_batches for select to vigie_app using (true);
create policy vigie_app_read on vigie.access_events for select to vigie_app using (true);
create policy vigie_app_read on vigie.known_addresses for select to vigie_app using (true);
create policy vigie_app_read on vigie.security_journal for select to vigie_app using (true);
create policy vigie_app_append on vigie.security_journal for insert to vigie_app with check (true);

-- Supabase's API roles never see any of it, whatever default privileges say.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on vigie.access_batches, vigie.access_events, vigie.security_journal, vigie.known_addresses from %I', r);
    end if;
  end loop;
end $$;

-- The event triggers, last (so this migration's own DDL does not fire them).
do $$
begin
  create event trigger vigie_policy_ddl on ddl_command_end
    when tag in ('CREATE POLICY', 'ALTER POLICY', 'CREATE TABLE', 'CREATE TABLE AS', 'ALTER TABLE')
    execute function vigie.capture_policy_ddl();
  create event trigger vigie_policy_drop on sql_drop
    when tag in ('DROP POLICY')
    execute function vigie.capture_policy_ddl();
exception when insufficient_privilege then
  raise notice 'vigie: déclencheurs d''événement non créés (le rôle % n''est pas superutilisateur) : les politiques publiques et la RLS désactivée seront détectées par le balayage périodique seulement. Voir docs/security.md.', current_user;
end $$;
