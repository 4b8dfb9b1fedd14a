-- Vigie 0008 — ML_PP's governance on human alert actions.
-- ACK and RESOLVE belong to admin and directeur (DOMAIN §4, "Alert workflow");
-- the CLI goes through vigie.act_on_alert, which now refuses anyone else with
-- a clear error, and tells the acting user's role.

create or replace function vigie.act_on_alert(p_alert_id uuid, p_action text, p_actor uuid, p_note text default null)
returns table (id uuid, status text)
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
#variable_conflict use_column
declare
  v_role text;
begin
  if p_action not in ('ACK', 'RESOLVE') then
    raise exception 'VIGIE_ACTION_INVALID: action % inconnue (ACK ou RESOLVE)', p_action using errcode = '22023';
  end if;
  select p.role into v_role from public.profils p where p.user_id = p_actor;
  if v_role is null or v_role not in ('admin', 'directeur') then
    raise exception 'VIGIE_ACTOR_NOT_ALLOWED: seuls les rôles admin et directeur peuvent % une alerte (rôle de l''utilisateur : %)',
      case p_action when 'ACK' then 'prendre en charge' else 'résoudre' end, coalesce(v_role, 'aucun profil')
      using errcode = '42501';
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
