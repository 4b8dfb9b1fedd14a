-- Vigie 0006 — the smoke canary behind GET /smoke on the listener.
-- A canary is a synthetic event that crosses the whole pipeline (outbox →
-- listener → evaluator → notifier, delivered to a null sink) without touching
-- any business table. Each stage stamps its time on the canary row.

create table vigie.canaries (
  id uuid primary key default gen_random_uuid(),
  created_at timestamptz not null default clock_timestamp(),
  evaluated_at timestamptz,
  notified_at timestamptz,
  release text
);
create index canaries_created_at_idx on vigie.canaries (created_at);
alter table vigie.canaries enable row level security;
grant select, insert, update (evaluated_at, notified_at), delete on vigie.canaries to vigie_app;
create policy vigie_app_all on vigie.canaries for all to vigie_app using (true) with check (true);

-- Starts a canary: its row and its outbox event, in one transaction.
create function vigie.start_canary(p_release text) returns uuid
language plpgsql security definer
set search_path = pg_catalog, vigie
as $$
declare v_id uuid;
begin
  delete from vigie.canaries where created_at < now() - interval '1 day';
  insert into vigie.canaries (release) values (p_release) returning id into v_id;
  insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
  values ('canary.ping', 'CANARY', v_id::text, null, '{}'::jsonb);
  perform pg_notify('vigie_outbox', '');
  return v_id;
end $$;
revoke all on function vigie.start_canary(text) from public;
grant execute on function vigie.start_canary(text) to vigie_app;

-- The evaluator's stage: stamps the canary and hands it to the notifier.
create function vigie.canary_evaluated(p_id uuid) returns void
language plpgsql security definer
set search_path = pg_catalog, vigie
as $$
begin
  update vigie.canaries set evaluated_at = coalesce(evaluated_at, clock_timestamp()) where id = p_id;
  if found then
    insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
    values ('canary.notify', 'CANARY', p_id::text, null, '{}'::jsonb);
    perform pg_notify('vigie_outbox', '');
  end if;
end $$;
revoke all on function vigie.canary_evaluated(uuid) from public;
grant execute on function vigie.canary_evaluated(uuid) to vigie_app;
