-- Vigie 0007 — the evaluation hot path at scale (1,000,000 movements).
--
-- Measured on the reference database at 1,000,000 movements (docs/benchmarks.md):
-- one tank's stock-history rules took ~1.5 s per event and the full sweep
-- ~12 s, because SORTIE_STOCK_INSUFFISANT replayed, movement by movement,
-- every day after the first negative adjustment of a key (its pre-filter,
-- "opening balance minus every exit of the day", is true on most busy days),
-- and every evaluation re-read all the adjustments of the tank.
--
-- What changes (findings are the same; only the work to get them):
--   * vigie.stock_day_totals also keeps, per (tank, product, owner, day), the
--     adjustments of that day's movements and the day's lowest running
--     balance after a sortie relative to its opening (mp_*), so a day is
--     replayed only when it really went below zero; vigie.stock_days_agg is
--     the one definition of a day's figures, for the cache and the live days.
--   * The cache is rebuilt (its columns changed): the next
--     vigie.stock_days_refresh() folds every closed day again.
--   * vigie.stock_days_touch also re-folds the day of an adjusted movement
--     (the evaluation of an adjustment event touches its movement, as before).
--   * CITERNE_INACTIVE_USED scans movements only when some tank has been out
--     of service (it scanned every movement of the depot otherwise).
--   * vigie.record_citerne_status reads the tank's citerne.changed events
--     through an index of their own, not every event of the tank.
-- PostgreSQL 15+.

-- ------------------------------------------------------ thresholds
-- vigie.rule_defaults() and vigie.threshold() lose their SET clause (same
-- bodies): a function with SET is never inlined and switches search_path at
-- every call, and every rule family reads a dozen thresholds per call. Plain
-- immutable SQL, they are inlined into their callers (Vigie's own functions,
-- whose search_path starts with pg_catalog).
create or replace function vigie.rule_defaults() returns jsonb
language sql immutable parallel safe
as $$
  select pg_catalog.jsonb_build_object(
    'STOCK_NEGATIF', jsonb_build_object('tolerance_l', 0.01),
    'STOCK_OVER_CAPACITY', jsonb_build_object('tolerance_l', 0),
    'CDR_ARRIVE_STALE', jsonb_build_object('max_age_hours', 48),
    'RECEPTION_ECART_15C', jsonb_build_object('max_ratio', 0.05),
    'SORTIE_ECART_15C', jsonb_build_object('max_ratio', 0.05),
    'SORTIE_STOCK_INSUFFISANT', jsonb_build_object('tolerance_l', 0.5),
    'CITERNE_INACTIVE_USED', jsonb_build_object(),
    'STOCK_DRIFT', jsonb_build_object('tolerance_l', 1),
    'JOURNAL_MISSING', jsonb_build_object(),
    'OWNER_MIXING', jsonb_build_object(),
    'PRODUCT_MIXING', jsonb_build_object('tolerance_l', 1),
    'SORTIE_INCOHERENTE', jsonb_build_object('index_tolerance_l', 0.5, 'volume_tolerance_l', 1,
                                             'max_future_hours', 24, 'max_backdate_days', 31),
    'CDR_BLOCKED', jsonb_build_object('chargement_hours', 72, 'transit_hours', 240, 'frontiere_hours', 120)
  )
$$;

-- One threshold of one rule: the override when given, else the default.
create or replace function vigie.threshold(p_thresholds jsonb, p_code text, p_param text) returns double precision
language sql immutable parallel safe
as $$
  select coalesce((p_thresholds -> p_code ->> p_param)::double precision,
                  (vigie.rule_defaults() -> p_code ->> p_param)::double precision)
$$;


-- ------------------------------------------------ stock day totals
alter table vigie.stock_day_totals
  add column adj_amb double precision not null default 0,
  add column adj_15c double precision not null default 0,
  add column adj_out_amb double precision not null default 0,
  add column adj_out_15c double precision not null default 0,
  add column mp_amb double precision,
  add column mp_15c double precision;
delete from vigie.stock_day_totals;
delete from vigie.stock_day_state;

-- A day's figures per (tank, product, owner, day) over [p_from, p_to), all
-- tanks or one: validated movements (amb/v15 signed, out_* the exits), the
-- adjustments of those movements (adj_*, adj_out_* the negative ones, per
-- movement), and mp_*: the lowest running balance of the day right after one
-- of its sorties, movements in the order they were written (created_at, id),
-- each corrected by its adjustments, relative to the day's opening (null
-- without sortie). Plain SQL, so the planner inlines it into its callers.
create function vigie.stock_days_agg(p_from date, p_to date, p_citerne uuid default null)
returns table (citerne_id uuid, produit_id uuid, proprietaire_type text, d date,
               amb double precision, v15 double precision, out_amb double precision, out_15c double precision, n bigint,
               adj_amb double precision, adj_15c double precision, adj_out_amb double precision, adj_out_15c double precision,
               mp_amb double precision, mp_15c double precision)
language sql stable
as $$
  select x.citerne_id, x.produit_id, x.proprietaire_type, x.d,
         sum(x.amb), sum(x.v15),
         coalesce(sum(x.amb) filter (where x.sortie), 0), coalesce(sum(x.v15) filter (where x.sortie), 0),
         count(*),
         sum(x.a_amb), sum(x.a_15c), sum(least(x.a_amb, 0)), sum(least(x.a_15c, 0)),
         min(x.run_amb) filter (where x.sortie), min(x.run_15c) filter (where x.sortie)
  from (
    select m.*,
           sum(m.amb + m.a_amb) over w as run_amb,
           sum(m.v15 + m.a_15c) over w as run_15c
    from (
      select mv.*, coalesce(a.amb, 0) as a_amb, coalesce(a.v15, 0) as a_15c
      from (
        select false as sortie, r.id, r.citerne_id, r.produit_id, r.proprietaire_type, r.date_reception as d, r.created_at as ts,
               r.volume_ambiant as amb, coalesce(r.volume_15c, r.volume_corrige_15c, 0) as v15
        from public.receptions r
        where r.statut = 'validee' and r.date_reception >= p_from and r.date_reception < p_to
          and (p_citerne is null or r.citerne_id = p_citerne)
        union all
        select true, s.id, s.citerne_id, s.produit_id, s.proprietaire_type, s.date_sortie::date, s.created_at,
               -s.volume_ambiant, -coalesce(s.volume_15c, s.volume_corrige_15c, 0)
        from public.sorties_produit s
        where s.statut = 'validee' and s.date_sortie >= p_from::timestamptz and s.date_sortie < p_to::timestamptz
          and (p_citerne is null or s.citerne_id = p_citerne)
      ) mv
      left join (
        select a.mouvement_id, sum(a.delta_ambiant) as amb, sum(a.delta_15c) as v15
        from public.stocks_adjustments a
        where p_citerne is null or a.citerne_id = p_citerne
        group by 1
      ) a on a.mouvement_id = mv.id
    ) m
    window w as (partition by m.citerne_id, m.produit_id, m.proprietaire_type, m.d order by m.ts, m.id)
  ) x
  group by 1, 2, 3, 4
$$;
revoke all on function vigie.stock_days_agg(date, date, uuid) from public;

-- Moves the cutoff to yesterday (folding the days in between into the
-- cache); p_full rebuilds the cache from scratch. Cheap when up to date.
create or replace function vigie.stock_days_refresh(p_full boolean default false) returns date
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
declare
  v_target date := current_date - 1;
  v_cutoff date;
begin
  select cutoff into v_cutoff from vigie.stock_day_state;
  if not p_full and v_cutoff is not null and v_cutoff >= v_target then
    return v_cutoff;
  end if;
  perform pg_advisory_xact_lock(hashtext('vigie:stock_day_totals'));
  select cutoff into v_cutoff from vigie.stock_day_state;
  if p_full or v_cutoff is null then
    delete from vigie.stock_day_totals;
    v_cutoff := '-infinity'::date;
  elsif v_cutoff >= v_target then
    return v_cutoff;
  end if;
  insert into vigie.stock_day_totals as t (citerne_id, produit_id, proprietaire_type, d, amb, v15, out_amb, out_15c, n,
                                           adj_amb, adj_15c, adj_out_amb, adj_out_15c, mp_amb, mp_15c)
  select l.citerne_id, l.produit_id, l.proprietaire_type, l.d, l.amb, l.v15, l.out_amb, l.out_15c, l.n,
         l.adj_amb, l.adj_15c, l.adj_out_amb, l.adj_out_15c, l.mp_amb, l.mp_15c
  from vigie.stock_days_agg(v_cutoff, v_target) l
  on conflict (citerne_id, produit_id, proprietaire_type, d) do update
    set amb = excluded.amb, v15 = excluded.v15, out_amb = excluded.out_amb, out_15c = excluded.out_15c, n = excluded.n,
        adj_amb = excluded.adj_amb, adj_15c = excluded.adj_15c, adj_out_amb = excluded.adj_out_amb, adj_out_15c = excluded.adj_out_15c,
        mp_amb = excluded.mp_amb, mp_15c = excluded.mp_15c;
  insert into vigie.stock_day_state (id, cutoff, built_at) values (true, v_target, now())
  on conflict (id) do update set cutoff = excluded.cutoff, built_at = excluded.built_at;
  return v_target;
end $$;

-- Re-folds the cached days of these movements: a back-dated movement, or a
-- movement an adjustment now corrects (its event carries the movement's id).
create or replace function vigie.stock_days_touch(p_ids uuid[]) returns integer
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
declare
  v_cutoff date;
  n integer := 0;
  k record;
begin
  select cutoff into v_cutoff from vigie.stock_day_state;
  if v_cutoff is null or p_ids is null or cardinality(p_ids) = 0 then
    return 0;
  end if;
  for k in
    select distinct m.citerne_id, m.d from (
      select r.citerne_id, r.date_reception as d from public.receptions r where r.id = any (p_ids)
      union all
      select s.citerne_id, s.date_sortie::date from public.sorties_produit s where s.id = any (p_ids)
    ) m where m.d < v_cutoff
  loop
    delete from vigie.stock_day_totals t where t.citerne_id = k.citerne_id and t.d = k.d;
    insert into vigie.stock_day_totals (citerne_id, produit_id, proprietaire_type, d, amb, v15, out_amb, out_15c, n,
                                        adj_amb, adj_15c, adj_out_amb, adj_out_15c, mp_amb, mp_15c)
    select l.citerne_id, l.produit_id, l.proprietaire_type, l.d, l.amb, l.v15, l.out_amb, l.out_15c, l.n,
           l.adj_amb, l.adj_15c, l.adj_out_amb, l.adj_out_15c, l.mp_amb, l.mp_15c
    from vigie.stock_days_agg(k.d, k.d + 1, k.citerne_id) l;
    n := n + 1;
  end loop;
  return n;
end $$;

-- ------------------------------------------------ tank status history
create index outbox_citerne_changed_idx on vigie.outbox (scope, id) where kind = 'citerne.changed';

-- --------------------------------------------------- family: stock
-- (as in 0003; the history part reads the new day figures, see above)
-- ------------------------------------------------ routine sweep
-- The movements a routine sweep re-judges with the movement rules: those of
-- the days not yet folded into the cache, those an adjustment corrects, and
-- those with an open alert of one of p_codes. Every other movement is
-- immutable and was judged when it was written (its event); `vigie sweep
-- --full` re-judges every movement (after a threshold change, say).
create function vigie.sweep_movement_ids(p_codes text[])
returns uuid[]
language sql stable security definer
set search_path = pg_catalog, vigie, public
as $$
  with cut as (select coalesce((select st.cutoff from vigie.stock_day_state st), '-infinity'::date) as d)
  select coalesce(array_agg(distinct x.id), '{}'::uuid[])
  from (
    select r.id from public.receptions r, cut where r.date_reception >= cut.d
    union all
    select s.id from public.sorties_produit s, cut where s.date_sortie >= cut.d::timestamptz
    union all
    select a.mouvement_id from public.stocks_adjustments a
    union all
    select al.entity_id from public.system_alerts al
     where al.check_code = any (p_codes) and al.status in ('OPEN', 'ACK') and al.entity_type in ('RECEPTION', 'SORTIE')
  ) x
$$;
revoke all on function vigie.sweep_movement_ids(text[]) from public;
grant execute on function vigie.sweep_movement_ids(text[]) to vigie_app;

-- ------------------------------------------------------ capture cost
-- The capture triggers' cost on ML_PP's writes (docs/benchmarks.md, [3]).
--
-- vigie.request_actor() loses its SET clause so that the planner inlines it
-- into the capture queries instead of calling a SQL function per row (it
-- only calls pg_catalog functions and operators, and is not SECURITY
-- DEFINER).
create or replace function vigie.request_actor() returns uuid
language sql stable
as $$
  select case
    when nullif(pg_catalog.current_setting('request.jwt.claims', true), '') is null then null
    when (pg_catalog.current_setting('request.jwt.claims', true)::jsonb ->> 'sub') ~* '^[0-9a-f-]{36}$'
      then (pg_catalog.current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid
    else null
  end
$$;

-- log_actions: the rows a client writes, with the acting user at insert
-- time. The rows ML_PP's own business triggers write (RECEPTION_VALIDE,
-- RECEPTION_CREEE, SORTIE_VALIDE…, at trigger depth > 1) are no longer
-- captured: they carry coalesce(auth.uid(), created_by) as user_id, so they
-- can never be forged (SEC_LOG_ACTION_FORGED, the only rule that reads
-- log_action.created), and the movement they log has its own event. This
-- removes two thirds of the events a reception writes, and their cost on it.
create or replace function vigie.capture_log_action() returns trigger
language plpgsql security definer
set search_path = pg_catalog, vigie, public
as $$
begin
  if pg_trigger_depth() > 1 then
    return null;
  end if;
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

create or replace function vigie.rules_stock(p_citerne uuid default null, p_thresholds jsonb default '{}', p_codes text[] default null)
returns setof vigie.finding
language plpgsql stable security definer
set search_path = pg_catalog, vigie, public
-- Planned once per session, not at every call: the filters on p_citerne are
-- written so that the generic plan still reads only that tank's rows (the
-- movements themselves are read by date), without parallel workers.
set plan_cache_mode = force_generic_plan
set max_parallel_workers_per_gather = 0
as $$
declare
  t jsonb := coalesce(p_thresholds, '{}'::jsonb);
  tol_neg double precision := vigie.threshold(t, 'STOCK_NEGATIF', 'tolerance_l');
  tol_cap double precision := vigie.threshold(t, 'STOCK_OVER_CAPACITY', 'tolerance_l');
  tol_mix double precision := vigie.threshold(t, 'PRODUCT_MIXING', 'tolerance_l');
  tol_drift double precision := vigie.threshold(t, 'STOCK_DRIFT', 'tolerance_l');
  tol_ins double precision := vigie.threshold(t, 'SORTIE_STOCK_INSUFFISANT', 'tolerance_l');
  want_book boolean := p_codes is null or p_codes && array['STOCK_NEGATIF', 'STOCK_OVER_CAPACITY', 'PRODUCT_MIXING'];
  want_hist boolean := p_codes is null or p_codes && array['STOCK_DRIFT', 'JOURNAL_MISSING', 'SORTIE_STOCK_INSUFFISANT'];
  v_cutoff date := coalesce((select st.cutoff from vigie.stock_day_state st), '-infinity'::date);
begin
  if want_book then
    return query
    with adj as (
      select a.citerne_id, a.produit_id, a.proprietaire_type, sum(a.delta_ambiant) as amb, sum(a.delta_15c) as v15, count(*) as n
      from (select a0.citerne_id, a0.produit_id, a0.proprietaire_type, a0.mouvement_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_citerne is not null and a0.citerne_id = p_citerne
            union all
            select a0.citerne_id, a0.produit_id, a0.proprietaire_type, a0.mouvement_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_citerne is null) a
      group by 1, 2, 3
    ),
    snap as (
      select s.citerne_id, s.produit_id, s.proprietaire_type, s.stock_ambiant, s.stock_15c
      from public.stocks_snapshot s
      where p_citerne is null or s.citerne_id = p_citerne
    ),
    book as (
      select coalesce(s.citerne_id, a.citerne_id) as citerne_id, coalesce(s.produit_id, a.produit_id) as produit_id,
             coalesce(s.proprietaire_type, a.proprietaire_type) as owner,
             coalesce(s.stock_ambiant, 0) as snap_amb, coalesce(s.stock_15c, 0) as snap_15c,
             coalesce(a.amb, 0) as adj_amb, coalesce(a.v15, 0) as adj_15c, coalesce(a.n, 0) as adj_n,
             coalesce(s.stock_ambiant, 0) + coalesce(a.amb, 0) as amb,
             coalesce(s.stock_15c, 0) + coalesce(a.v15, 0) as v15
      from snap s
      full join adj a on a.citerne_id = s.citerne_id and a.produit_id = s.produit_id and a.proprietaire_type = s.proprietaire_type
    ),
    b as (
      select book.*, c.citerne, c.statut, c.capacite_totale, c.capacite_securite, c.citerne_produit_id, c.citerne_produit, c.depot,
             p.code as produit
      from book
      join vigie.citerne_ctx c on c.citerne_id = book.citerne_id
      left join public.produits p on p.id = book.produit_id
    ),
    neg as (
      select distinct on (b.citerne_id, b.owner) b.*
      from b
      where (p_codes is null or 'STOCK_NEGATIF' = any (p_codes))
        and (b.amb < -tol_neg or b.v15 < -tol_neg)
      order by b.citerne_id, b.owner, least(b.amb, b.v15)
    ),
    tank as (
      select b.citerne_id, min(b.citerne) as citerne, min(b.depot) as depot, min(b.citerne_produit) as produit,
             min(b.statut) as statut, min(b.capacite_totale) as capacite_totale, min(b.capacite_securite) as capacite_securite,
             sum(greatest(b.amb, 0)) as amb, sum(greatest(b.v15, 0)) as v15,
             jsonb_object_agg(b.owner || case when b.produit_id is distinct from b.citerne_produit_id then ':' || coalesce(b.produit, '?') else '' end,
                              jsonb_build_object('stock_ambiant', round(b.amb::numeric, 1), 'stock_15c', round(b.v15::numeric, 1))) as par_proprietaire
      from b
      group by b.citerne_id
    ),
    cap as (
      select tank.*, tank.capacite_totale - tank.capacite_securite as limite
      from tank
      where (p_codes is null or 'STOCK_OVER_CAPACITY' = any (p_codes))
        and tank.statut = 'active'
        and (tank.amb > tank.capacite_totale - tank.capacite_securite + tol_cap
             or tank.v15 > tank.capacite_totale - tank.capacite_securite + tol_cap)
    ),
    mix as (
      select b.citerne_id, min(b.citerne) as citerne, min(b.depot) as depot, min(b.citerne_produit) as citerne_produit,
             string_agg(distinct coalesce(b.produit, b.produit_id::text), ', ') as autres,
             jsonb_agg(jsonb_build_object('produit', b.produit, 'produit_id', b.produit_id, 'proprietaire', b.owner,
                                          'stock_ambiant', round(b.amb::numeric, 1), 'stock_15c', round(b.v15::numeric, 1))) as stocks
      from b
      where (p_codes is null or 'PRODUCT_MIXING' = any (p_codes))
        and b.produit_id is distinct from b.citerne_produit_id
        and (b.amb > tol_mix or b.v15 > tol_mix)
      group by b.citerne_id
    )
    select 'STOCK_NEGATIF', 'CRITICAL', 'CITERNE_STOCK', vigie.stock_key(n.citerne_id, n.owner)::text,
           format('Stock comptable négatif : citerne %s (%s, %s), propriétaire %s : %s L ambiant, %s L à 15 °C (seuil %s L)',
                  n.citerne, n.depot, n.produit, n.owner, vigie.fmt(n.amb), vigie.fmt(n.v15), vigie.fmt(-tol_neg, 2)),
           format('Negative book stock: tank %s (%s, %s), owner %s: %s L ambient, %s L at 15 °C (threshold %s L)',
                  n.citerne, n.depot, n.produit, n.owner, vigie.fmt(n.amb), vigie.fmt(n.v15), vigie.fmt(-tol_neg, 2)),
           jsonb_build_object('depot', n.depot, 'citerne', n.citerne, 'citerne_id', n.citerne_id, 'produit', n.produit,
                              'produit_id', n.produit_id, 'proprietaire', n.owner,
                              'stock_ambiant', round(n.amb::numeric, 2), 'stock_15c', round(n.v15::numeric, 2),
                              'snapshot_ambiant', n.snap_amb, 'snapshot_15c', n.snap_15c,
                              'ajustements_ambiant', n.adj_amb, 'ajustements_15c', n.adj_15c, 'ajustements', n.adj_n,
                              'threshold', -tol_neg)
    from neg n
    union all
    select 'STOCK_OVER_CAPACITY', 'CRITICAL', 'CITERNE_STOCK', c.citerne_id::text,
           format('Citerne %s (%s, %s) au-dessus de sa capacité utile : %s L ambiant / %s L à 15 °C, tous propriétaires, pour %s L',
                  c.citerne, c.depot, c.produit, vigie.fmt(c.amb), vigie.fmt(c.v15), vigie.fmt(c.limite)),
           format('Tank %s (%s, %s) above its usable capacity: %s L ambient / %s L at 15 °C, all owners, for %s L',
                  c.citerne, c.depot, c.produit, vigie.fmt(c.amb), vigie.fmt(c.v15), vigie.fmt(c.limite)),
           jsonb_build_object('depot', c.depot, 'citerne', c.citerne, 'citerne_id', c.citerne_id, 'produit', c.produit,
                              'proprietaire', 'TOUS', 'stock_ambiant', round(c.amb::numeric, 1), 'stock_15c', round(c.v15::numeric, 1),
                              'par_proprietaire', c.par_proprietaire, 'capacite_totale', c.capacite_totale,
                              'capacite_securite', c.capacite_securite, 'threshold', c.limite + tol_cap)
    from cap c
    union all
    select 'PRODUCT_MIXING', 'CRITICAL', 'CITERNE', m.citerne_id::text,
           format('Mélange de produits : la citerne %s (%s) est déclarée %s mais contient du %s', m.citerne, m.depot, m.citerne_produit, m.autres),
           format('Product mixing: tank %s (%s) is declared %s but holds %s', m.citerne, m.depot, m.citerne_produit, m.autres),
           jsonb_build_object('depot', m.depot, 'citerne', m.citerne, 'citerne_id', m.citerne_id, 'produit', m.citerne_produit,
                              'proprietaire', null, 'produits_etrangers', m.stocks, 'threshold', tol_mix)
    from mix m;
  end if;

  if want_hist then
    return query
    with adjm as (
      -- Adjustments are corrections of the movement they reference (used to
      -- replay the rare suspicious days exactly).
      select a.mouvement_id, a.citerne_id, a.produit_id, a.proprietaire_type as owner,
             sum(a.delta_ambiant) as amb, sum(a.delta_15c) as v15
      from (select a0.citerne_id, a0.produit_id, a0.proprietaire_type, a0.mouvement_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_citerne is not null and a0.citerne_id = p_citerne
            union all
            select a0.citerne_id, a0.produit_id, a0.proprietaire_type, a0.mouvement_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_citerne is null) a
      group by 1, 2, 3, 4
    ),
    days as (
      -- Validated movements per (tank, product, owner, day), each corrected by
      -- the adjustments that reference it: the cached closed days and the live
      -- recent ones (vigie.stock_days_agg, one definition for both).
      select c.citerne_id, c.produit_id, c.proprietaire_type as owner, c.d, c.amb, c.v15, c.adj_amb, c.adj_15c,
             c.out_amb + c.adj_out_amb as out_amb, c.out_15c + c.adj_out_15c as out_15c, c.n::bigint as n, c.mp_amb, c.mp_15c
      from (select c0.* from vigie.stock_day_totals c0 where p_citerne is not null and c0.citerne_id = p_citerne
            union all
            select c0.* from vigie.stock_day_totals c0 where p_citerne is null) c
      where c.d < v_cutoff
      union all
      select l.citerne_id, l.produit_id, l.proprietaire_type, l.d, l.amb, l.v15, l.adj_amb, l.adj_15c,
             l.out_amb + l.adj_out_amb, l.out_15c + l.adj_out_15c, l.n, l.mp_amb, l.mp_15c
      from vigie.stock_days_agg(v_cutoff, 'infinity'::date, p_citerne) l
    ),
    jr as (
      select j.citerne_id, j.produit_id, j.proprietaire_type as owner, j.date_jour as d, j.stock_ambiant, j.stock_15c
      from (select j0.citerne_id, j0.produit_id, j0.proprietaire_type, j0.date_jour, j0.stock_ambiant, j0.stock_15c
            from public.stocks_journaliers j0 where p_citerne is not null and j0.citerne_id = p_citerne
            union all
            select j0.citerne_id, j0.produit_id, j0.proprietaire_type, j0.date_jour, j0.stock_ambiant, j0.stock_15c
            from public.stocks_journaliers j0 where p_citerne is null) j
    ),
    snap as (
      select s.citerne_id, s.produit_id, s.proprietaire_type as owner, s.stock_ambiant, s.stock_15c
      from public.stocks_snapshot s
      where p_citerne is null or s.citerne_id = p_citerne
    ),
    zc as (
      -- One row per (key, day) with a movement or a journal row, and the
      -- running sums of the movements (book: without adjustments, like the
      -- journal; corrected: with them, as opening balance of the day).
      select z.*,
             sum(z.amb) over w as cum_amb, sum(z.v15) over w as cum_15c,
             sum(z.amb + z.adj_amb) over w - z.amb - z.adj_amb as corr_open_amb,
             sum(z.v15 + z.adj_15c) over w - z.v15 - z.adj_15c as corr_open_15c
      from (
        select u.citerne_id, u.produit_id, u.owner, u.d, bool_or(u.n > 0) as has_mv,
               sum(u.amb) as amb, sum(u.v15) as v15, sum(u.adj_amb) as adj_amb, sum(u.adj_15c) as adj_15c,
               sum(u.out_amb) as out_amb, sum(u.out_15c) as out_15c, max(u.j_amb) as j_amb, max(u.j_15c) as j_15c,
               min(u.mp_amb) as mp_amb, min(u.mp_15c) as mp_15c
        from (
          select dy.citerne_id, dy.produit_id, dy.owner, dy.d, dy.amb, dy.v15, dy.adj_amb, dy.adj_15c, dy.out_amb, dy.out_15c, dy.n,
                 null::double precision as j_amb, null::double precision as j_15c, dy.mp_amb, dy.mp_15c
          from days dy
          union all
          select j.citerne_id, j.produit_id, j.owner, j.d, 0, 0, 0, 0, 0, 0, 0, j.stock_ambiant, j.stock_15c, null, null
          from jr j
        ) u
        group by 1, 2, 3, 4
      ) z
      window w as (partition by z.citerne_id, z.produit_id, z.owner order by z.d)
    ),
    opening as (
      -- J0: the journal's opening balance (its first row minus the movements
      -- up to that day); without a journal, what the snapshot does not explain.
      select o.citerne_id, o.produit_id, o.owner,
             coalesce(o.j0_amb, sn.stock_ambiant - o.tot_amb, 0) as amb,
             coalesce(o.j0_15c, sn.stock_15c - o.tot_15c, 0) as v15,
             sn.stock_ambiant as s_amb, sn.stock_15c as s_15c
      from (
        select zc.citerne_id, zc.produit_id, zc.owner,
               (array_agg(zc.j_amb - zc.cum_amb order by zc.d) filter (where zc.j_amb is not null))[1] as j0_amb,
               (array_agg(zc.j_15c - zc.cum_15c order by zc.d) filter (where zc.j_15c is not null))[1] as j0_15c,
               (array_agg(zc.cum_amb order by zc.d desc))[1] as tot_amb,
               (array_agg(zc.cum_15c order by zc.d desc))[1] as tot_15c
        from zc group by 1, 2, 3
      ) o
      left join snap sn on sn.citerne_id = o.citerne_id and sn.produit_id = o.produit_id and sn.owner = o.owner
    ),
    timeline as (
      select zc.citerne_id, zc.produit_id, zc.owner, zc.d, zc.has_mv, zc.j_amb, zc.j_15c,
             o.amb + zc.cum_amb as exp_amb, o.v15 + zc.cum_15c as exp_15c,
             o.amb + zc.corr_open_amb as open_corr_amb, o.v15 + zc.corr_open_15c as open_corr_15c,
             zc.amb + zc.adj_amb as net_corr_amb, zc.v15 + zc.adj_15c as net_corr_15c,
             zc.adj_amb, zc.adj_15c, zc.out_amb, zc.out_15c, zc.mp_amb, zc.mp_15c
      from zc
      join opening o on o.citerne_id = zc.citerne_id and o.produit_id = zc.produit_id and o.owner = zc.owner
    ),
    keystat as (
      select tl.citerne_id, tl.produit_id, tl.owner,
             min(tl.d) filter (where tl.j_amb is not null and (abs(tl.j_amb - tl.exp_amb) > tol_drift or abs(tl.j_15c - tl.exp_15c) > tol_drift)) as drift_from,
             count(*) filter (where tl.j_amb is not null and (abs(tl.j_amb - tl.exp_amb) > tol_drift or abs(tl.j_15c - tl.exp_15c) > tol_drift)) as drift_days,
             min(tl.d) filter (where tl.adj_amb < 0 or tl.adj_15c < 0) as neg_adj_from,
             min(tl.d) filter (where tl.open_corr_amb + tl.net_corr_amb < -tol_ins or tl.open_corr_15c + tl.net_corr_15c < -tol_ins) as neg_eod_from,
             (array_agg(tl.exp_amb order by tl.d desc))[1] as exp_amb,
             (array_agg(tl.exp_15c order by tl.d desc))[1] as exp_15c,
             (array_agg(tl.j_amb order by tl.d desc) filter (where tl.j_amb is not null))[1] as j_amb,
             (array_agg(tl.j_15c order by tl.d desc) filter (where tl.j_15c is not null))[1] as j_15c,
             max(tl.d) filter (where tl.j_amb is not null) as j_last,
             array_agg(tl.d order by tl.d) filter (where tl.has_mv and tl.j_amb is null) as missing
      from timeline tl
      group by 1, 2, 3
    ),
    kx as (
      select k.*, o.s_amb, o.s_15c,
             abs(coalesce(o.s_amb, 0) - k.exp_amb) > tol_drift or abs(coalesce(o.s_15c, 0) - k.exp_15c) > tol_drift
               or (k.j_amb is not null and (abs(coalesce(o.s_amb, 0) - k.j_amb) > tol_drift or abs(coalesce(o.s_15c, 0) - k.j_15c) > tol_drift)) as snap_off
      from keystat k
      join opening o on o.citerne_id = k.citerne_id and o.produit_id = k.produit_id and o.owner = k.owner
    ),
    drift as (
      select distinct on (k.citerne_id, k.owner) k.*,
             greatest(abs(coalesce(k.s_amb, 0) - k.exp_amb), abs(coalesce(k.s_15c, 0) - k.exp_15c),
                      coalesce(abs(coalesce(k.s_amb, 0) - k.j_amb), 0), coalesce(abs(coalesce(k.s_15c, 0) - k.j_15c), 0),
                      coalesce(abs(k.j_amb - k.exp_amb), 0)) as ecart
      from kx k
      where (p_codes is null or 'STOCK_DRIFT' = any (p_codes)) and (k.drift_from is not null or k.snap_off)
      order by k.citerne_id, k.owner, ecart desc
    ),
    missing as (
      select distinct on (k.citerne_id, k.owner) k.*
      from keystat k
      where (p_codes is null or 'JOURNAL_MISSING' = any (p_codes)) and cardinality(k.missing) > 0
      order by k.citerne_id, k.owner, cardinality(k.missing) desc
    ),
    risky as (
      -- Where a sortie can have left with too little stock. ML_PP's trigger
      -- refuses a sortie above the snapshot stock, so on a key whose history
      -- agrees with its snapshot and journal and has no negative correction,
      -- it cannot; elsewhere, only on days whose opening balance plus the
      -- day's lowest running balance after a sortie goes below zero. Those
      -- days are replayed exactly.
      select tl.citerne_id, tl.produit_id, tl.owner, tl.d, tl.open_corr_amb, tl.open_corr_15c
      from timeline tl
      join kx k on k.citerne_id = tl.citerne_id and k.produit_id = tl.produit_id and k.owner = tl.owner
      where (p_codes is null or 'SORTIE_STOCK_INSUFFISANT' = any (p_codes))
        and tl.has_mv
        and tl.d >= least(k.drift_from, k.neg_adj_from, k.neg_eod_from, case when k.snap_off then '-infinity'::date end)
        and (tl.open_corr_amb + tl.out_amb < -tol_ins or tl.open_corr_15c + tl.out_15c < -tol_ins)
        -- Exact: the day's lowest balance after a sortie (cached per day) is below zero.
        and (tl.open_corr_amb + tl.mp_amb < -tol_ins or tl.open_corr_15c + tl.mp_15c < -tol_ins)
    ),
    intraday as (
      -- The exact order of that day's movements, each corrected by its adjustments.
      select m.kind, m.id, m.citerne_id, m.produit_id, m.owner, m.d, m.ts,
             m.amb + coalesce(a.amb, 0) as c_amb, m.v15 + coalesce(a.v15, 0) as c_15c,
             rk.open_corr_amb + sum(m.amb + coalesce(a.amb, 0)) over w as bal_amb,
             rk.open_corr_15c + sum(m.v15 + coalesce(a.v15, 0)) over w as bal_15c
      from risky rk
      cross join lateral (
        select 'RECEPTION'::text as kind, r.id, r.citerne_id, r.produit_id, r.proprietaire_type as owner, r.date_reception as d,
               r.created_at as ts, r.volume_ambiant as amb, coalesce(r.volume_15c, r.volume_corrige_15c, 0) as v15
        from public.receptions r
        where r.statut = 'validee' and r.citerne_id = rk.citerne_id and r.produit_id = rk.produit_id
          and r.proprietaire_type = rk.owner and r.date_reception = rk.d
        union all
        select 'SORTIE', s.id, s.citerne_id, s.produit_id, s.proprietaire_type, s.date_sortie::date, s.created_at,
               -s.volume_ambiant, -coalesce(s.volume_15c, s.volume_corrige_15c, 0)
        from public.sorties_produit s
        where s.statut = 'validee' and s.citerne_id = rk.citerne_id and s.produit_id = rk.produit_id
          and s.proprietaire_type = rk.owner and s.date_sortie >= rk.d::timestamptz and s.date_sortie < (rk.d + 1)::timestamptz
      ) m
      left join adjm a on a.mouvement_id = m.id
      window w as (partition by m.citerne_id, m.produit_id, m.owner, m.d order by m.ts, m.id)
    ),
    insuff as (
      select i.*, c.citerne, c.depot, p.code as produit
      from intraday i
      join vigie.citerne_ctx c on c.citerne_id = i.citerne_id
      left join public.produits p on p.id = i.produit_id
      where i.kind = 'SORTIE' and (i.bal_amb < -tol_ins or i.bal_15c < -tol_ins)
    )
    select 'STOCK_DRIFT', 'CRITICAL', 'CITERNE_STOCK', vigie.stock_key(x.citerne_id, x.owner)::text,
           format('Écart de stock : citerne %s (%s, %s), propriétaire %s : snapshot %s L, journal %s L (%s), mouvements validés %s L (tolérance %s L)',
                  c.citerne, c.depot, p.code, x.owner, vigie.fmt(coalesce(x.s_amb, 0)), coalesce(vigie.fmt(x.j_amb), '—'),
                  coalesce(x.j_last::text, '—'), vigie.fmt(x.exp_amb), vigie.fmt(tol_drift)),
           format('Stock drift: tank %s (%s, %s), owner %s: snapshot %s L, journal %s L (%s), validated movements %s L (tolerance %s L)',
                  c.citerne, c.depot, p.code, x.owner, vigie.fmt(coalesce(x.s_amb, 0)), coalesce(vigie.fmt(x.j_amb), '—'),
                  coalesce(x.j_last::text, '—'), vigie.fmt(x.exp_amb), vigie.fmt(tol_drift)),
           jsonb_build_object('depot', c.depot, 'citerne', c.citerne, 'citerne_id', x.citerne_id, 'produit', p.code,
                              'produit_id', x.produit_id, 'proprietaire', x.owner,
                              'snapshot_ambiant', x.s_amb, 'snapshot_15c', x.s_15c,
                              'journal_ambiant', x.j_amb, 'journal_15c', x.j_15c, 'journal_date', x.j_last,
                              'mouvements_ambiant', round(x.exp_amb::numeric, 2), 'mouvements_15c', round(x.exp_15c::numeric, 2),
                              'journal_ecart_depuis', x.drift_from, 'journal_jours_en_ecart', x.drift_days,
                              'ecart_l', round(x.ecart::numeric, 2), 'threshold', tol_drift)
    from drift x
    join vigie.citerne_ctx c on c.citerne_id = x.citerne_id
    left join public.produits p on p.id = x.produit_id
    union all
    select 'JOURNAL_MISSING', 'WARN', 'CITERNE_STOCK', vigie.stock_key(x.citerne_id, x.owner)::text,
           format('Journal de stock incomplet : citerne %s (%s, %s), propriétaire %s : %s jour(s) avec mouvements validés sans ligne stocks_journaliers (premier : %s)',
                  c.citerne, c.depot, p.code, x.owner, cardinality(x.missing), x.missing[1]),
           format('Stock journal incomplete: tank %s (%s, %s), owner %s: %s day(s) with validated movements and no stocks_journaliers row (first: %s)',
                  c.citerne, c.depot, p.code, x.owner, cardinality(x.missing), x.missing[1]),
           jsonb_build_object('depot', c.depot, 'citerne', c.citerne, 'citerne_id', x.citerne_id, 'produit', p.code,
                              'produit_id', x.produit_id, 'proprietaire', x.owner, 'jours_manquants', cardinality(x.missing),
                              'dates', to_jsonb(x.missing[1:20]), 'threshold', 0)
    from missing x
    join vigie.citerne_ctx c on c.citerne_id = x.citerne_id
    left join public.produits p on p.id = x.produit_id
    union all
    select 'SORTIE_STOCK_INSUFFISANT', 'CRITICAL', 'SORTIE', i.id::text,
           format('Sortie validée sans stock suffisant : citerne %s (%s, %s), propriétaire %s, le %s : %s L demandés pour %s L disponibles (ambiant ; %s L pour %s L à 15 °C)',
                  i.citerne, i.depot, i.produit, i.owner, i.d, vigie.fmt(-i.c_amb), vigie.fmt(i.bal_amb - i.c_amb),
                  vigie.fmt(-i.c_15c), vigie.fmt(i.bal_15c - i.c_15c)),
           format('Sortie validated without enough stock: tank %s (%s, %s), owner %s, on %s: %s L requested with %s L available (ambient; %s L for %s L at 15 °C)',
                  i.citerne, i.depot, i.produit, i.owner, i.d, vigie.fmt(-i.c_amb), vigie.fmt(i.bal_amb - i.c_amb),
                  vigie.fmt(-i.c_15c), vigie.fmt(i.bal_15c - i.c_15c)),
           jsonb_build_object('depot', i.depot, 'citerne', i.citerne, 'citerne_id', i.citerne_id, 'produit', i.produit,
                              'produit_id', i.produit_id, 'proprietaire', i.owner, 'sortie_id', i.id, 'date', i.d,
                              'volume_ambiant', -i.c_amb, 'volume_15c', -i.c_15c,
                              'stock_avant_ambiant', round((i.bal_amb - i.c_amb)::numeric, 2), 'stock_avant_15c', round((i.bal_15c - i.c_15c)::numeric, 2),
                              'stock_apres_ambiant', round(i.bal_amb::numeric, 2), 'stock_apres_15c', round(i.bal_15c::numeric, 2),
                              'threshold', -tol_ins)
    from insuff i;
  end if;
end $$;

-- ------------------------------------------------ family: movements
-- (as in 0003, with generic plans (see the function header); with ids, a
-- family runs only for the kinds present; CITERNE_INACTIVE_USED is skipped
-- when no tank was ever out of service)
create or replace function vigie.rules_movements(p_ids uuid[] default null, p_citerne uuid default null, p_thresholds jsonb default '{}',
                                      p_codes text[] default null)
returns setof vigie.finding
language plpgsql stable security definer
set search_path = pg_catalog, vigie, public
-- Planned once per session, not at every call (planning these queries cost
-- more than running them for one event): every filter on p_ids below is
-- written so that the generic plan still reads only the rows asked for, and
-- without parallel workers (starting them costs more than one event's work).
set plan_cache_mode = force_generic_plan
set max_parallel_workers_per_gather = 0
as $$
declare
  t jsonb := coalesce(p_thresholds, '{}'::jsonb);
  r_ratio double precision := vigie.threshold(t, 'RECEPTION_ECART_15C', 'max_ratio');
  s_ratio double precision := vigie.threshold(t, 'SORTIE_ECART_15C', 'max_ratio');
  idx_tol double precision := vigie.threshold(t, 'SORTIE_INCOHERENTE', 'index_tolerance_l');
  vol_tol double precision := vigie.threshold(t, 'SORTIE_INCOHERENTE', 'volume_tolerance_l');
  fut_h double precision := vigie.threshold(t, 'SORTIE_INCOHERENTE', 'max_future_hours');
  back_d double precision := vigie.threshold(t, 'SORTIE_INCOHERENTE', 'max_backdate_days');
  fut_i interval := make_interval(secs => fut_h * 3600);
  back_i interval := make_interval(secs => back_d * 86400);
  w_recart boolean := p_codes is null or 'RECEPTION_ECART_15C' = any (p_codes);
  w_secart boolean := p_codes is null or 'SORTIE_ECART_15C' = any (p_codes);
  w_incoh boolean := p_codes is null or 'SORTIE_INCOHERENTE' = any (p_codes);
  w_owner boolean := p_codes is null or 'OWNER_MIXING' = any (p_codes);
  w_inact boolean := p_codes is null or 'CITERNE_INACTIVE_USED' = any (p_codes);
  -- With ids (an event's movements), each family's query runs only when one
  -- of the ids is of its kind: planning it costs more than the probe.
  has_r boolean := p_ids is null or exists (select 1 from public.receptions x where x.id = any (p_ids));
  has_s boolean := p_ids is null or exists (select 1 from public.sorties_produit x where x.id = any (p_ids));
begin
  if p_ids is not null and cardinality(p_ids) = 0 then
    return;
  end if;

  if (w_recart or w_owner) and has_r then
    return query
    with adj as (
      select a.mouvement_id, sum(a.delta_ambiant) as amb, sum(a.delta_15c) as v15, count(*) as n
      from (select a0.mouvement_id, a0.mouvement_type, a0.citerne_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_ids is not null and a0.mouvement_id = any (p_ids)
            union all
            select a0.mouvement_id, a0.mouvement_type, a0.citerne_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_ids is null) a
      where a.mouvement_type = 'RECEPTION' and (p_citerne is null or a.citerne_id = p_citerne)
      group by 1
    ),
    r as materialized (
      -- Only the movements some rule flags leave this pass.
      select * from (
        select x.*,
               w_recart and x.amb > 0 and x.v15 is not null and abs(x.v15 - x.amb) / x.amb > r_ratio as ecart,
               w_owner and ((x.owner = 'PARTENAIRE' and (x.partenaire_id is null or x.cours_de_route_id is not null))
                            or (x.owner = 'MONALUXE' and x.partenaire_id is not null)) as owner_bad
        from (
          select r.id, r.citerne_id, r.produit_id, r.proprietaire_type as owner, r.partenaire_id, r.cours_de_route_id, r.date_reception,
                 r.volume_ambiant + coalesce(a.amb, 0) as amb, coalesce(r.volume_15c, r.volume_corrige_15c) + coalesce(a.v15, 0) as v15,
                 r.volume_ambiant as amb0, coalesce(r.volume_15c, r.volume_corrige_15c) as v150, coalesce(a.n, 0) as adj_n
          from (select id, citerne_id, produit_id, proprietaire_type, partenaire_id, cours_de_route_id, date_reception, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.receptions where p_ids is not null and id = any (p_ids)
                union all
                select id, citerne_id, produit_id, proprietaire_type, partenaire_id, cours_de_route_id, date_reception, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.receptions where p_ids is null) r
          left join adj a on a.mouvement_id = r.id
          where r.statut = 'validee' and (p_citerne is null or r.citerne_id = p_citerne)
            and not (abs(r.volume_ambiant + coalesce(a.amb, 0)) <= 0.001 and abs(coalesce(r.volume_15c, r.volume_corrige_15c, 0) + coalesce(a.v15, 0)) <= 0.001)
        ) x
      ) y
      where y.ecart or y.owner_bad
    ),
    f as (
      select r.*, c.citerne, c.depot, p.code as produit, pa.nom as partenaire
      from r
      join vigie.citerne_ctx c on c.citerne_id = r.citerne_id
      left join public.produits p on p.id = r.produit_id
      left join public.partenaires pa on pa.id = r.partenaire_id
    )
    select 'RECEPTION_ECART_15C', 'WARN', 'RECEPTION', f.id::text,
           format('Réception du %s, citerne %s (%s, %s), propriétaire %s : écart 15 °C de %s %% (ambiant %s L, 15 °C %s L ; seuil %s %%)',
                  f.date_reception, f.citerne, f.depot, f.produit, f.owner, vigie.fmt(abs(f.v15 - f.amb) / f.amb * 100, 2),
                  vigie.fmt(f.amb), vigie.fmt(f.v15), vigie.fmt(r_ratio * 100, 1)),
           format('Reception of %s, tank %s (%s, %s), owner %s: 15 °C gap of %s %% (ambient %s L, 15 °C %s L; threshold %s %%)',
                  f.date_reception, f.citerne, f.depot, f.produit, f.owner, vigie.fmt(abs(f.v15 - f.amb) / f.amb * 100, 2),
                  vigie.fmt(f.amb), vigie.fmt(f.v15), vigie.fmt(r_ratio * 100, 1)),
           jsonb_build_object('depot', f.depot, 'citerne', f.citerne, 'citerne_id', f.citerne_id, 'produit', f.produit,
                              'proprietaire', f.owner, 'reception_id', f.id, 'date', f.date_reception,
                              'volume_ambiant', f.amb, 'volume_15c', f.v15, 'volume_ambiant_saisi', f.amb0, 'volume_15c_saisi', f.v150,
                              'ajustements', f.adj_n, 'ecart_ratio', round((abs(f.v15 - f.amb) / f.amb)::numeric, 4), 'threshold', r_ratio)
    from f where f.ecart
    union all
    select 'OWNER_MIXING', 'CRITICAL', 'RECEPTION', f.id::text,
           format('Mélange propriétaire : réception du %s, citerne %s (%s, %s) enregistrée %s %s',
                  f.date_reception, f.citerne, f.depot, f.produit, f.owner,
                  case when f.owner = 'PARTENAIRE' and f.partenaire_id is null then 'sans partenaire'
                       when f.owner = 'PARTENAIRE' then 'avec un cours de route (une réception partenaire n''en a pas)'
                       else 'avec un partenaire (' || coalesce(f.partenaire, '?') || ')' end),
           format('Owner mixing: reception of %s, tank %s (%s, %s) recorded as %s %s',
                  f.date_reception, f.citerne, f.depot, f.produit, f.owner,
                  case when f.owner = 'PARTENAIRE' and f.partenaire_id is null then 'without a partner'
                       when f.owner = 'PARTENAIRE' then 'with a cours de route (partner receptions have none)'
                       else 'with a partner (' || coalesce(f.partenaire, '?') || ')' end),
           jsonb_build_object('depot', f.depot, 'citerne', f.citerne, 'citerne_id', f.citerne_id, 'produit', f.produit,
                              'proprietaire', f.owner, 'reception_id', f.id, 'date', f.date_reception, 'partenaire', f.partenaire,
                              'partenaire_id', f.partenaire_id, 'cours_de_route_id', f.cours_de_route_id,
                              'volume_ambiant', f.amb, 'threshold', null)
    from f where f.owner_bad;
  end if;

  if (w_secart or w_incoh or w_owner) and has_s then
    return query
    with adj as (
      select a.mouvement_id, sum(a.delta_ambiant) as amb, sum(a.delta_15c) as v15, count(*) as n
      from (select a0.mouvement_id, a0.mouvement_type, a0.citerne_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_ids is not null and a0.mouvement_id = any (p_ids)
            union all
            select a0.mouvement_id, a0.mouvement_type, a0.citerne_id, a0.delta_ambiant, a0.delta_15c
            from public.stocks_adjustments a0 where p_ids is null) a
      where a.mouvement_type = 'SORTIE' and (p_citerne is null or a.citerne_id = p_citerne)
      group by 1
    ),
    s as materialized (
      select * from (
      select x.*,
             w_secart and x.amb > 0 and x.v15 is not null and abs(x.v15 - x.amb) / x.amb > s_ratio as ecart,
             w_incoh and (x.index_avant is null or x.index_apres is null or x.index_apres <= x.index_avant
                          or abs(x.amb0 - (x.index_apres - x.index_avant)) > idx_tol
                          or x.amb0 is null or x.amb0 <= 0 or x.v150 is null or x.v150 <= 0
                          or abs(x.volume_15c - x.volume_corrige_15c) > vol_tol
                          or x.date_sortie > x.created_at + fut_i or x.date_sortie < x.created_at - back_i) as incoh,
             w_owner and ((x.client_id is not null and x.partenaire_id is not null)
                          or (x.client_id is null and x.partenaire_id is null)
                          or (x.owner = 'MONALUXE' and x.client_id is null)
                          or (x.owner = 'PARTENAIRE' and x.partenaire_id is null)) as owner_bad
      from (
        select s.id, s.citerne_id, s.produit_id, s.proprietaire_type as owner, s.client_id, s.partenaire_id, s.date_sortie, s.created_at,
               s.index_avant, s.index_apres, s.volume_15c, s.volume_corrige_15c,
               -- An adjustment's delta is a stock delta (ML_PP, v_stock_actuel): on a
               -- sortie, +X means X fewer litres actually left the tank.
               s.volume_ambiant - coalesce(a.amb, 0) as amb,
               coalesce(s.volume_15c, s.volume_corrige_15c) - coalesce(a.v15, 0) as v15,
               s.volume_ambiant as amb0, coalesce(s.volume_15c, s.volume_corrige_15c) as v150, coalesce(a.n, 0) as adj_n
        from (select id, citerne_id, produit_id, proprietaire_type, client_id, partenaire_id, date_sortie, created_at, index_avant, index_apres, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.sorties_produit where p_ids is not null and id = any (p_ids)
              union all
              select id, citerne_id, produit_id, proprietaire_type, client_id, partenaire_id, date_sortie, created_at, index_avant, index_apres, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.sorties_produit where p_ids is null) s
        left join adj a on a.mouvement_id = s.id
        where s.statut = 'validee' and (p_citerne is null or s.citerne_id = p_citerne)
          and not (abs(coalesce(s.volume_ambiant, 0) - coalesce(a.amb, 0)) <= 0.001
                   and abs(coalesce(s.volume_15c, s.volume_corrige_15c, 0) - coalesce(a.v15, 0)) <= 0.001)
      ) x
      ) y
      where y.ecart or y.incoh or y.owner_bad
    ),
    f as (
      select s.*, c.citerne, c.depot, p.code as produit, cl.nom as client, pa.nom as partenaire,
             case when s.incoh then array_remove(array[
               case when s.index_avant is null or s.index_apres is null then 'index_manquant'
                    when s.index_apres <= s.index_avant then 'index_inverses' end,
               case when s.index_avant is not null and s.index_apres is not null and s.index_apres > s.index_avant
                         and abs(s.amb0 - (s.index_apres - s.index_avant)) > idx_tol then 'volume_ne_correspond_pas_aux_index' end,
               case when s.amb0 is null or s.amb0 <= 0 then 'volume_ambiant_nul' end,
               case when s.v150 is null or s.v150 <= 0 then 'volume_15c_manquant' end,
               case when abs(s.volume_15c - s.volume_corrige_15c) > vol_tol then 'volumes_15c_divergents' end,
               case when s.date_sortie > s.created_at + fut_i then 'date_future' end,
               case when s.date_sortie < s.created_at - back_i then 'date_trop_ancienne' end
             ], null) else '{}'::text[] end as incoherences
      from s
      join vigie.citerne_ctx c on c.citerne_id = s.citerne_id
      left join public.produits p on p.id = s.produit_id
      left join public.clients cl on cl.id = s.client_id
      left join public.partenaires pa on pa.id = s.partenaire_id
    )
    select 'SORTIE_ECART_15C', 'WARN', 'SORTIE', f.id::text,
           format('Sortie du %s, citerne %s (%s, %s), propriétaire %s : écart 15 °C de %s %% (ambiant %s L, 15 °C %s L ; seuil %s %%)',
                  f.date_sortie::date, f.citerne, f.depot, f.produit, f.owner, vigie.fmt(abs(f.v15 - f.amb) / f.amb * 100, 2),
                  vigie.fmt(f.amb), vigie.fmt(f.v15), vigie.fmt(s_ratio * 100, 1)),
           format('Sortie of %s, tank %s (%s, %s), owner %s: 15 °C gap of %s %% (ambient %s L, 15 °C %s L; threshold %s %%)',
                  f.date_sortie::date, f.citerne, f.depot, f.produit, f.owner, vigie.fmt(abs(f.v15 - f.amb) / f.amb * 100, 2),
                  vigie.fmt(f.amb), vigie.fmt(f.v15), vigie.fmt(s_ratio * 100, 1)),
           jsonb_build_object('depot', f.depot, 'citerne', f.citerne, 'citerne_id', f.citerne_id, 'produit', f.produit,
                              'proprietaire', f.owner, 'sortie_id', f.id, 'date', f.date_sortie,
                              'volume_ambiant', f.amb, 'volume_15c', f.v15, 'volume_ambiant_saisi', f.amb0, 'volume_15c_saisi', f.v150,
                              'volume_corrige_15c', f.volume_corrige_15c, 'ajustements', f.adj_n,
                              'ecart_ratio', round((abs(f.v15 - f.amb) / f.amb)::numeric, 4), 'threshold', s_ratio)
    from f where f.ecart
    union all
    select 'SORTIE_INCOHERENTE', 'WARN', 'SORTIE', f.id::text,
           format('Sortie incohérente du %s, citerne %s (%s, %s) : %s (index %s → %s, ambiant %s L, 15 °C %s L)',
                  f.date_sortie::date, f.citerne, f.depot, f.produit, array_to_string(f.incoherences, ', '),
                  coalesce(vigie.fmt(f.index_avant), '—'), coalesce(vigie.fmt(f.index_apres), '—'),
                  coalesce(vigie.fmt(f.amb0), '—'), coalesce(vigie.fmt(f.v150), '—')),
           format('Incoherent sortie of %s, tank %s (%s, %s): %s (indexes %s → %s, ambient %s L, 15 °C %s L)',
                  f.date_sortie::date, f.citerne, f.depot, f.produit, array_to_string(f.incoherences, ', '),
                  coalesce(vigie.fmt(f.index_avant), '—'), coalesce(vigie.fmt(f.index_apres), '—'),
                  coalesce(vigie.fmt(f.amb0), '—'), coalesce(vigie.fmt(f.v150), '—')),
           jsonb_build_object('depot', f.depot, 'citerne', f.citerne, 'citerne_id', f.citerne_id, 'produit', f.produit,
                              'proprietaire', f.owner, 'sortie_id', f.id, 'date', f.date_sortie, 'enregistree_le', f.created_at,
                              'incoherences', to_jsonb(f.incoherences), 'index_avant', f.index_avant, 'index_apres', f.index_apres,
                              'volume_ambiant', f.amb0, 'volume_15c', f.volume_15c, 'volume_corrige_15c', f.volume_corrige_15c,
                              'threshold', jsonb_build_object('index_tolerance_l', idx_tol, 'volume_tolerance_l', vol_tol,
                                                              'max_future_hours', fut_h, 'max_backdate_days', back_d))
    from f where cardinality(f.incoherences) > 0
    union all
    select 'OWNER_MIXING', 'CRITICAL', 'SORTIE', f.id::text,
           format('Mélange propriétaire : sortie du %s, citerne %s (%s, %s), stock %s débité pour %s',
                  f.date_sortie::date, f.citerne, f.depot, f.produit, f.owner,
                  coalesce(nullif(concat_ws(' et ', 'client ' || f.client, 'partenaire ' || f.partenaire), ''), 'aucun bénéficiaire')),
           format('Owner mixing: sortie of %s, tank %s (%s, %s), %s stock debited for %s',
                  f.date_sortie::date, f.citerne, f.depot, f.produit, f.owner,
                  coalesce(nullif(concat_ws(' and ', 'client ' || f.client, 'partner ' || f.partenaire), ''), 'no beneficiary')),
           jsonb_build_object('depot', f.depot, 'citerne', f.citerne, 'citerne_id', f.citerne_id, 'produit', f.produit,
                              'proprietaire', f.owner, 'sortie_id', f.id, 'date', f.date_sortie, 'client', f.client, 'client_id', f.client_id,
                              'partenaire', f.partenaire, 'partenaire_id', f.partenaire_id, 'volume_ambiant', f.amb0, 'threshold', null)
    from f where f.owner_bad;
  end if;

  -- Only where a tank has been out of service at some point (else nothing to scan).
  if w_inact and exists (select 1 from vigie.citerne_status_history h
                          where h.statut <> 'active' and (p_citerne is null or h.citerne_id = p_citerne)) then
    return query
    with periods as (
      select h.citerne_id, h.statut, h.since,
             lead(h.since) over (partition by h.citerne_id order by h.since) as until
      from vigie.citerne_status_history h
      where p_citerne is null or h.citerne_id = p_citerne
    ),
    offp as (
      select * from periods where statut <> 'active'
    ),
    mv as (
      select 'RECEPTION'::text as kind, r.id, r.citerne_id, r.produit_id, r.proprietaire_type as owner, r.created_at,
             r.volume_ambiant as amb, coalesce(r.volume_15c, r.volume_corrige_15c, 0) as v15
      from (select id, citerne_id, produit_id, proprietaire_type, created_at, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.receptions where p_ids is not null and id = any (p_ids)
            union all
            select id, citerne_id, produit_id, proprietaire_type, created_at, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.receptions where p_ids is null and citerne_id in (select citerne_id from offp)) r
      where r.statut = 'validee' and r.citerne_id in (select citerne_id from offp)
        and (p_citerne is null or r.citerne_id = p_citerne)
      union all
      select 'SORTIE', s.id, s.citerne_id, s.produit_id, s.proprietaire_type, s.created_at,
             s.volume_ambiant, coalesce(s.volume_15c, s.volume_corrige_15c, 0)
      from (select id, citerne_id, produit_id, proprietaire_type, created_at, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.sorties_produit where p_ids is not null and id = any (p_ids)
            union all
            select id, citerne_id, produit_id, proprietaire_type, created_at, volume_ambiant, volume_15c, volume_corrige_15c, statut from public.sorties_produit where p_ids is null and citerne_id in (select citerne_id from offp)) s
      where s.statut = 'validee' and s.citerne_id in (select citerne_id from offp)
        and (p_citerne is null or s.citerne_id = p_citerne)
    ),
    hit as (
      select m.*, o.statut, o.since, c.citerne, c.depot, p.code as produit,
             -- Volumes here are positive for both kinds; a stock delta corrects a sortie the other way.
             m.amb + case m.kind when 'SORTIE' then -1 else 1 end
                     * coalesce((select sum(a.delta_ambiant) from public.stocks_adjustments a where a.mouvement_id = m.id), 0) as c_amb,
             m.v15 + case m.kind when 'SORTIE' then -1 else 1 end
                     * coalesce((select sum(a.delta_15c) from public.stocks_adjustments a where a.mouvement_id = m.id), 0) as c_15c
      from mv m
      -- When the movement was written: its capture time in the outbox (same
      -- clock as the statut change), else created_at.
      cross join lateral (
        select coalesce((select min(e.created_at) from vigie.outbox e
                          where e.scope = 'citerne:' || m.citerne_id::text and e.entity_id = m.id::text
                            and e.kind in ('reception.created', 'sortie.created')), m.created_at) as at
      ) w
      join offp o on o.citerne_id = m.citerne_id and w.at >= o.since and (o.until is null or w.at < o.until)
      join vigie.citerne_ctx c on c.citerne_id = m.citerne_id
      left join public.produits p on p.id = m.produit_id
    )
    select 'CITERNE_INACTIVE_USED', 'CRITICAL', h.kind, h.id::text,
           format('Citerne %s (%s, %s) au statut %s utilisée : %s de %s L (propriétaire %s) enregistrée le %s',
                  h.citerne, h.depot, h.produit, h.statut, case h.kind when 'RECEPTION' then 'réception' else 'sortie' end,
                  vigie.fmt(h.amb), h.owner, to_char(h.created_at, 'YYYY-MM-DD HH24:MI')),
           format('Tank %s (%s, %s) with statut %s used: %s of %s L (owner %s) recorded on %s',
                  h.citerne, h.depot, h.produit, h.statut, lower(h.kind), vigie.fmt(h.amb), h.owner, to_char(h.created_at, 'YYYY-MM-DD HH24:MI')),
           jsonb_build_object('depot', h.depot, 'citerne', h.citerne, 'citerne_id', h.citerne_id, 'produit', h.produit,
                              'proprietaire', h.owner, 'mouvement', h.kind, 'mouvement_id', h.id, 'statut_citerne', h.statut,
                              'statut_depuis', h.since, 'enregistre_le', h.created_at, 'volume_ambiant', h.amb, 'threshold', 'active')
    from hit h
    where not (abs(h.c_amb) <= 0.001 and abs(h.c_15c) <= 0.001);
  end if;
end $$;
