-- Vigie 0009 — the deadlines of every open cours de route, in one call.
-- The evaluator schedules a delayed job for each CDR deadline when the CDR's
-- event is evaluated. Those jobs live in Redis: a Redis restart without
-- persistence or a FLUSHALL loses them. After each sweep the evaluator now
-- schedules again the future deadlines of every CDR not yet DECHARGE (job ids
-- dedupe the ones still there), so a lost deadline fires at most one sweep
-- late instead of never. SECURITY DEFINER: vigie_app cannot read
-- public.cours_de_route itself.

create function vigie.open_cdr_deadlines(p_thresholds jsonb default '{}')
returns table (cdr_id uuid, check_code text, due_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, vigie, public
as $$
  select c.id, d.check_code, d.due_at
  from public.cours_de_route c
  cross join lateral vigie.cdr_deadlines(c.id, p_thresholds) d
  where c.statut in ('CHARGEMENT', 'TRANSIT', 'FRONTIERE', 'ARRIVE')
    and d.due_at > clock_timestamp()
$$;

revoke execute on function vigie.open_cdr_deadlines(jsonb) from public;
grant execute on function vigie.open_cdr_deadlines(jsonb) to vigie_app;
