-- Vigie 0001 — durable event capture.
--
-- Installs next to ML_PP's database, additively: schema `vigie` for everything
-- Vigie owns; in ML_PP's schemas only AFTER triggers and their functions.
-- The capture triggers append to vigie.outbox in the business transaction and
-- NOTIFY once (Postgres folds identical notifications of one transaction).
-- They are statement-level with transition tables: one call and one
-- subtransaction per statement, whatever the number of rows.
-- Any failure inside them is caught, recorded in vigie.trigger_failures and
-- raised as a WARNING: a business write is never blocked or changed.
-- PostgreSQL 15+.

create schema if not exists vigie;
revoke all on schema vigie from public;

-- The services' least-privilege role. Deployments create a LOGIN role that is
-- a member of it (see docs/contracts/database.md); it is not a superuser and
-- does not bypass RLS.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'vigie_app') then
    create role vigie_app nologin noinherit;
  end if;
end $$;
grant usage on schema vigie to vigie_app;

-- ---------------------------------------------------------------- outbox
create table vigie.outbox (
  id bigserial primary key,
  kind text not null check (kind ~ '^[a-z_]+\.[a-z_]+$'),
  entity_type text not null,
  entity_id text not null,
  -- Coalescing key of the evaluation this event calls for (e.g. citerne:<id>).
  scope text,
  -- Ids and small facts only, never whole rows or secrets.
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default clock_timestamp(),
  dispatched_at timestamptz,
  dispatch_count integer not null default 0,
  processed_at timestamptz
);
create index outbox_undispatched_idx on vigie.outbox (id) where dispatched_at is null;
create index outbox_unprocessed_idx on vigie.outbox (id) where processed_at is null;
create index outbox_scope_idx on vigie.outbox (scope, id);
create index outbox_processed_at_idx on vigie.outbox (processed_at) where processed_at is not null;
alter table vigie.outbox enable row level security;

create table vigie.trigger_failures (
  id bigserial primary key,
  at timestamptz not null default clock_timestamp(),
  trigger_name text not null,
  table_name text not null,
  sqlstate text,
  message text not null,
  acknowledged_at timestamptz
);
alter table vigie.trigger_failures enable row level security;

-- When each CDR entered each status (ML_PP records none of this).
create table vigie.cdr_status_history (
  cdr_id uuid not null,
  statut text not null,
  entered_at timestamptz not null default clock_timestamp(),
  primary key (cdr_id, entered_at, statut)
);
create index cdr_status_history_latest_idx on vigie.cdr_status_history (cdr_id, entered_at desc);
alter table vigie.cdr_status_history enable row level security;

-- The acting user of the current request, as PostgREST/Supabase sets it.
create function vigie.request_actor() returns uuid
language sql stable
set search_path = pg_catalog
as $$
  select case
    when nullif(current_setting('request.jwt.claims', true), '') is null then null
    when (current_setting('request.jwt.claims', true)::jsonb ->> 'sub') ~* '^[0-9a-f-]{36}$'
      then (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid
    else null
  end
$$;

-- Records a capture failure without ever raising.
create function vigie.report_trigger_failure(p_trigger text, p_table text, p_sqlstate text, p_message text) returns void
language plpgsql security definer
set search_path = pg_catalog, vigie
as $$
begin
  begin
    insert into vigie.trigger_failures (trigger_name, table_name, sqlstate, message)
    values (p_trigger, p_table, p_sqlstate, left(p_message, 2000));
    perform pg_notify('vigie_outbox', 'failure');
  exception when others then
    null; -- the failure journal itself failed: the WARNING below is all that is left
  end;
  raise warning 'vigie: capture % sur % a échoué (%): % — l''écriture métier est conservée', p_trigger, p_table, p_sqlstate, p_message;
end $$;

-- ------------------------------------------------------- capture functions
-- receptions / sorties_produit / stocks_adjustments: one event per new row.
create function vigie.capture_movement() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
begin
  begin
    if TG_TABLE_NAME = 'receptions' then
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'reception.created', 'RECEPTION', n.id::text, 'citerne:' || n.citerne_id,
             jsonb_build_object('citerne_id', n.citerne_id, 'produit_id', n.produit_id, 'proprietaire_type', n.proprietaire_type,
                                'statut', n.statut, 'cours_de_route_id', n.cours_de_route_id)
      from new_rows n;
    elsif TG_TABLE_NAME = 'sorties_produit' then
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'sortie.created', 'SORTIE', n.id::text, 'citerne:' || n.citerne_id,
             jsonb_build_object('citerne_id', n.citerne_id, 'produit_id', n.produit_id, 'proprietaire_type', n.proprietaire_type,
                                'statut', n.statut)
      from new_rows n;
    else
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'adjustment.created', 'ADJUSTMENT', n.id::text, 'citerne:' || n.citerne_id,
             jsonb_build_object('citerne_id', n.citerne_id, 'mouvement_type', n.mouvement_type, 'mouvement_id', n.mouvement_id,
                                'actor', vigie.request_actor())
      from new_rows n;
    end if;
    if found then perform pg_notify('vigie_outbox', ''); end if;
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;

-- cours_de_route: creation and every status change, with the time it happened.
create function vigie.capture_cdr() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
begin
  begin
    if TG_OP = 'INSERT' then
      insert into vigie.cdr_status_history (cdr_id, statut)
      select n.id, n.statut from new_rows n;
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'cdr.created', 'CDR', n.id::text, 'cdr:' || n.id, jsonb_build_object('statut', n.statut)
      from new_rows n;
    else
      insert into vigie.cdr_status_history (cdr_id, statut)
      select n.id, n.statut from new_rows n join old_rows o on o.id = n.id
      where n.statut is distinct from o.statut;
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'cdr.status_changed', 'CDR', n.id::text, 'cdr:' || n.id,
             jsonb_build_object('from', o.statut, 'to', n.statut, 'actor', vigie.request_actor())
      from new_rows n join old_rows o on o.id = n.id
      where n.statut is distinct from o.statut;
    end if;
    if found then perform pg_notify('vigie_outbox', ''); end if;
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;

-- citernes: creation, and changes of status, capacity or product.
create function vigie.capture_citerne() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
begin
  begin
    if TG_OP = 'INSERT' then
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'citerne.changed', 'CITERNE', n.id::text, 'citerne:' || n.id, jsonb_build_object('statut', n.statut)
      from new_rows n;
    else
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'citerne.changed', 'CITERNE', n.id::text, 'citerne:' || n.id,
             jsonb_build_object('from_statut', o.statut, 'statut', n.statut, 'actor', vigie.request_actor())
      from new_rows n join old_rows o on o.id = n.id
      where (n.statut, n.capacite_totale, n.capacite_securite, n.produit_id)
            is distinct from (o.statut, o.capacite_totale, o.capacite_securite, o.produit_id);
    end if;
    if found then perform pg_notify('vigie_outbox', ''); end if;
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;

-- profils: a new profile or a role change, with who did it (JWT sub).
create function vigie.capture_profil() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
begin
  begin
    if TG_OP = 'INSERT' then
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'profil.role_changed', 'PROFIL', n.id::text, 'profil:' || n.id,
             jsonb_build_object('user_id', n.user_id, 'from', null, 'to', n.role, 'actor', vigie.request_actor(), 'db_user', session_user)
      from new_rows n;
    else
      insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
      select 'profil.role_changed', 'PROFIL', n.id::text, 'profil:' || n.id,
             jsonb_build_object('user_id', n.user_id, 'from', o.role, 'to', n.role, 'actor', vigie.request_actor(), 'db_user', session_user)
      from new_rows n join old_rows o on o.id = n.id
      where n.role is distinct from o.role;
    end if;
    if found then perform pg_notify('vigie_outbox', ''); end if;
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;

-- log_actions: every audit row, with the acting user at insert time.
create function vigie.capture_log_action() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
begin
  begin
    insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
    select 'log_action.created', 'LOG_ACTION', n.id::text, null,
           jsonb_build_object('user_id', n.user_id, 'actor', vigie.request_actor(), 'action', n.action, 'module', n.module,
                              'niveau', n.niveau, 'db_user', session_user)
    from new_rows n;
    if found then perform pg_notify('vigie_outbox', ''); end if;
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;

-- auth.audit_log_entries: Supabase Auth's own journal (login, logout, user_modified…).
create function vigie.capture_auth_audit() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie
as $$
begin
  begin
    insert into vigie.outbox (kind, entity_type, entity_id, scope, payload)
    select 'auth.audit', 'AUTH_AUDIT', n.id::text, null,
           jsonb_build_object('action', n.payload ->> 'action', 'actor_id', n.payload ->> 'actor_id',
                              'actor_username', n.payload ->> 'actor_username', 'ip', n.ip_address)
    from new_rows n;
    if found then perform pg_notify('vigie_outbox', ''); end if;
  exception when others then
    perform vigie.report_trigger_failure(TG_NAME, TG_TABLE_NAME, SQLSTATE, SQLERRM);
  end;
  return null;
end $$;

revoke all on function vigie.capture_movement(), vigie.capture_cdr(), vigie.capture_citerne(), vigie.capture_profil(),
  vigie.capture_log_action(), vigie.capture_auth_audit(), vigie.report_trigger_failure(text, text, text, text) from public;

-- ------------------------------------------------------- capture triggers
-- Names start with zz_vigie_ so they fire after ML_PP's own AFTER triggers.
create trigger zz_vigie_capture_ins after insert on public.receptions
  referencing new table as new_rows for each statement execute function vigie.capture_movement();
create trigger zz_vigie_capture_ins after insert on public.sorties_produit
  referencing new table as new_rows for each statement execute function vigie.capture_movement();
create trigger zz_vigie_capture_ins after insert on public.stocks_adjustments
  referencing new table as new_rows for each statement execute function vigie.capture_movement();
create trigger zz_vigie_capture_ins after insert on public.cours_de_route
  referencing new table as new_rows for each statement execute function vigie.capture_cdr();
create trigger zz_vigie_capture_upd after update on public.cours_de_route
  referencing old table as old_rows new table as new_rows for each statement execute function vigie.capture_cdr();
create trigger zz_vigie_capture_ins after insert on public.citernes
  referencing new table as new_rows for each statement execute function vigie.capture_citerne();
create trigger zz_vigie_capture_upd after update on public.citernes
  referencing old table as old_rows new table as new_rows for each statement execute function vigie.capture_citerne();
create trigger zz_vigie_capture_ins after insert on public.profils
  referencing new table as new_rows for each statement execute function vigie.capture_profil();
create trigger zz_vigie_capture_upd after update on public.profils
  referencing old table as old_rows new table as new_rows for each statement execute function vigie.capture_profil();
create trigger zz_vigie_capture_ins after insert on public.log_actions
  referencing new table as new_rows for each statement execute function vigie.capture_log_action();
create trigger zz_vigie_capture_ins after insert on auth.audit_log_entries
  referencing new table as new_rows for each statement execute function vigie.capture_auth_audit();

-- Services (vigie_app) may read and update the outbox, never change events.
grant select, update (dispatched_at, dispatch_count, processed_at), delete on vigie.outbox to vigie_app;
grant insert on vigie.outbox to vigie_app;
grant usage on sequence vigie.outbox_id_seq to vigie_app;
grant select, update (acknowledged_at) on vigie.trigger_failures to vigie_app;
grant select on vigie.cdr_status_history to vigie_app;
grant execute on function vigie.request_actor() to vigie_app;
create policy vigie_app_all on vigie.outbox for all to vigie_app using (true) with check (true);
create policy vigie_app_read on vigie.trigger_failures for select to vigie_app using (true);
create policy vigie_app_ack on vigie.trigger_failures for update to vigie_app using (true) with check (true);
create policy vigie_app_read on vigie.cdr_status_history for select to vigie_app using (true);

-- vigie_app gets no direct access to ML_PP's tables (their RLS would hide
-- everything anyway): rules read business data through vigie's SECURITY
-- DEFINER functions, which are owned by the migration role.
