-- Vigie 0002 — public.system_alerts lifecycle and its transitions.
--
-- public.system_alerts is ML_PP's table (Phase 2, staging/sql/phase2): it is
-- created here only when absent, with the same columns, statuses and unique
-- key. Every status change, whoever makes it (Vigie's evaluator, ML_PP's
-- /governance/integrity screen, ML_PP's own sync function, the CLI), is
-- recorded exactly once in vigie.alert_transitions by an AFTER trigger in the
-- same transaction, and announced through the outbox to the notifier.

create table if not exists public.system_alerts (
  id uuid primary key default gen_random_uuid(),
  check_code text not null,
  severity text not null check (severity in ('CRITICAL', 'WARN')),
  entity_type text not null,
  -- uuid as in ML_PP: keys that are not a row id (a tank × owner, an IP
  -- address) use a stable uuid derived with md5 (see docs/rules.md).
  entity_id uuid not null,
  message text not null,
  payload jsonb not null default '{}'::jsonb,
  status text not null default 'OPEN' check (status in ('OPEN', 'ACK', 'RESOLVED')),
  first_detected_at timestamptz not null default now(),
  last_detected_at timestamptz not null default now(),
  acknowledged_by uuid,
  acknowledged_at timestamptz,
  resolved_by uuid,
  resolved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_alerts_check_entity_key unique (check_code, entity_type, entity_id)
);
-- A table created here gets RLS on and no policy (only its owner and Vigie's
-- functions reach it); ML_PP's own policies stay untouched where it exists.
alter table public.system_alerts enable row level security;

create table vigie.alert_transitions (
  id bigserial primary key,
  alert_id uuid not null,
  kind text not null check (kind in ('opened', 'reopened', 'acknowledged', 'resolved')),
  from_status text,
  to_status text not null,
  check_code text not null,
  severity text not null,
  entity_type text not null,
  entity_id text not null,
  -- Who acted (profils.user_id / auth uid); null for Vigie's automatic changes.
  actor uuid,
  -- Where the change came from: evaluator, cli, app (ML_PP's screen), other.
  origin text not null,
  at timestamptz not null default clock_timestamp(),
  first_detected_at timestamptz,
  -- When the business write that caused the finding was captured (time to detect).
  source_event_at timestamptz,
  message text not null,
  payload jsonb not null default '{}'::jsonb
);
create index alert_transitions_alert_idx on vigie.alert_transitions (alert_id, id);
create index alert_transitions_at_idx on vigie.alert_transitions (at);
alter table vigie.alert_transitions enable row level security;

create function vigie.capture_alert_transition() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
declare
  v_kind text;
  v_actor uuid;
  v_from text := case when TG_OP = 'UPDATE' then OLD.status end;
  v_origin text := coalesce(nullif(current_setting('vigie.origin', true), ''),
                            case when vigie.request_actor() is not null then 'app' else 'other' end);
  v_id bigint;
begin
  begin
    if TG_OP = 'INSERT' then
      v_kind := case NEW.status when 'OPEN' then 'opened' when 'ACK' then 'acknowledged' else null end;
    elsif NEW.status is distinct from OLD.status then
      v_kind := case
        when NEW.status = 'OPEN' then 'reopened'
        when NEW.status = 'ACK' then 'acknowledged'
        when NEW.status = 'RESOLVED' then 'resolved'
      end;
    end if;
    if v_kind is null then
      return null;
    end if;
    v_actor := case v_kind
      when 'acknowledged' then coalesce(NEW.acknowledged_by, vigie.request_actor())
      when 'resolved' then NEW.resolved_by
      else null
    end;
    insert into vigie.alert_transitions (alert_id, kind, from_status, to_status, check_code, severity, entity_type, entity_id,
                                         actor, origin, first_detected_at, source_event_at, message, payload)
    values (NEW.id, v_kind, v_from, NEW.status, NEW.check_code, NEW.severity, NEW.entity_type, NEW.entity_id::text,
            v_actor, v_origin, NEW.first_detected_at,
            case when NEW.payload ? 'vigie' then (NEW.payload -> 'vigie' ->> 'event_at')::timestamptz end,
            NEW.message, NEW.payload)
    returning id into v_id;
    insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
    values ('alert.transition', 'ALERT', NEW.id::text, null, jsonb_build_object('transition_id', v_id, 'kind', v_kind));
    perform pg_notify('vigie_outbox', '');
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;
revoke all on function vigie.capture_alert_transition() from public;

create trigger zz_vigie_alert_transition after insert or update on public.system_alerts
  for each row execute function vigie.capture_alert_transition();

-- ------------------------------------------------------------------ sync
-- Applies one evaluation's result: p_findings is what the rules found,
-- p_coverage what they looked at. Lifecycle, exactly as ML_PP's spec:
--   new finding → OPEN; still present → last_detected_at/payload/message
--   updated (first_detected_at and ACK fields untouched); RESOLVED and present
--   again → OPEN with ack/resolve cleared; covered but gone → RESOLVED with
--   resolved_by NULL. A human ACK is kept while the finding lasts.
-- p_findings: [{check_code, severity, entity_type, entity_id, message, payload}]
-- p_coverage: [{check_code, entity_ids: [..] | null}]  (null = every entity)
create function vigie.sync_alerts(p_findings jsonb, p_coverage jsonb)
returns table (alert_id uuid, check_code text, entity_id text, action text)
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
#variable_conflict use_column
begin
  perform set_config('vigie.origin', 'evaluator', true);
  return query
  -- Typed as system_alerts' own columns, whatever ML_PP's exact types are.
  with f as (
    select x.check_code, x.severity, x.entity_type, x.entity_id, x.message, coalesce(x.payload, '{}'::jsonb) as payload
    from jsonb_populate_recordset(null::public.system_alerts, p_findings) as x
  ),
  before as (
    select a.check_code, a.entity_type, a.entity_id, a.status
    from public.system_alerts a join f on f.check_code = a.check_code and f.entity_type = a.entity_type and f.entity_id = a.entity_id
  ),
  up as (
    insert into public.system_alerts as a (check_code, severity, entity_type, entity_id, message, payload, status,
                                           first_detected_at, last_detected_at)
    select f.check_code, f.severity, f.entity_type, f.entity_id, f.message, f.payload, 'OPEN', now(), now() from f
    on conflict (check_code, entity_type, entity_id) do update set
      severity = excluded.severity,
      message = excluded.message,
      payload = excluded.payload,
      last_detected_at = now(),
      updated_at = now(),
      status = case when a.status = 'RESOLVED' then 'OPEN' else a.status end,
      acknowledged_by = case when a.status = 'RESOLVED' then null else a.acknowledged_by end,
      acknowledged_at = case when a.status = 'RESOLVED' then null else a.acknowledged_at end,
      resolved_by = case when a.status = 'RESOLVED' then null else a.resolved_by end,
      resolved_at = case when a.status = 'RESOLVED' then null else a.resolved_at end
    returning a.id, a.check_code, a.entity_type, a.entity_id
  ),
  cov as (
    select c.check_code, c.entity_ids
    from jsonb_to_recordset(p_coverage) as c(check_code text, entity_ids text[])
  ),
  gone as (
    update public.system_alerts a
       set status = 'RESOLVED', resolved_at = now(), resolved_by = null, updated_at = now()
      from cov
     where a.check_code = cov.check_code
       and a.status in ('OPEN', 'ACK')
       and (cov.entity_ids is null or a.entity_id::text = any (cov.entity_ids))
       and not exists (select 1 from f where f.check_code = a.check_code and f.entity_type = a.entity_type and f.entity_id = a.entity_id)
    returning a.id, a.check_code, a.entity_id::text as entity_id
  )
  select up.id, up.check_code, up.entity_id::text,
         case when b.status is null then 'opened' when b.status = 'RESOLVED' then 'reopened' else 'still_open' end
    from up left join before b on b.check_code = up.check_code and b.entity_type = up.entity_type and b.entity_id = up.entity_id
  union all
  select gone.id, gone.check_code, gone.entity_id, 'resolved' from gone;
end $$;
revoke all on function vigie.sync_alerts(jsonb, jsonb) from public;
grant execute on function vigie.sync_alerts(jsonb, jsonb) to vigie_app;

-- Human actions from the CLI: ACK or RESOLVE with the actor recorded.
create function vigie.act_on_alert(p_alert_id uuid, p_action text, p_actor uuid, p_note text default null)
returns table (id uuid, status text)
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
#variable_conflict use_column
begin
  if p_action not in ('ACK', 'RESOLVE') then
    raise exception 'VIGIE_ACTION_INVALID: action % inconnue (ACK ou RESOLVE)', p_action using errcode = '22023';
  end if;
  perform set_config('vigie.origin', 'cli', true);
  if p_action = 'ACK' then
    return query
    update public.system_alerts a set status = 'ACK', acknowledged_by = p_actor, acknowledged_at = now(), updated_at = now(),
           payload = case when p_note is null then a.payload else a.payload || jsonb_build_object('ack_note', p_note) end
     where a.id = p_alert_id and a.status = 'OPEN'
    returning a.id, a.status;
  else
    return query
    update public.system_alerts a set status = 'RESOLVED', resolved_by = p_actor, resolved_at = now(), updated_at = now(),
           payload = case when p_note is null then a.payload else a.payload || jsonb_build_object('resolve_note', p_note) end
     where a.id = p_alert_id and a.status in ('OPEN', 'ACK')
    returning a.id, a.status;
  end if;
end $$;
revoke all on function vigie.act_on_alert(uuid, text, uuid, text) from public;
grant execute on function vigie.act_on_alert(uuid, text, uuid, text) to vigie_app;

grant select on vigie.alert_transitions to vigie_app;
create policy vigie_app_read on vigie.alert_transitions for select to vigie_app using (true);
