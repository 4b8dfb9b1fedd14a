-- 0009_stock_views.sql
-- Stock views:
--  * v_stocks_snapshot_corrige: snapshot + sum of adjustments per key, clamped at 0,
--  * v_stock_actuel: the official current stock (one row per depot, tank, product, owner),
--  * v_mouvements_stock: validated receptions (+), validated sorties (-) and a J0 baseline,
--  * rebuild_stocks_journaliers(depot, from, to).
-- Views are security_invoker: the caller's RLS applies.

CREATE VIEW public.v_stocks_snapshot_corrige WITH (security_invoker = true) AS
WITH adj AS (
  SELECT a.citerne_id, a.produit_id, a.proprietaire_type,
         sum(a.delta_ambiant) AS delta_ambiant_total,
         sum(a.delta_15c)     AS delta_15c_total
  FROM public.stocks_adjustments a
  GROUP BY a.citerne_id, a.produit_id, a.proprietaire_type
)
SELECT s.id,
       s.depot_id,
       s.citerne_id,
       s.produit_id,
       s.proprietaire_type,
       greatest(s.stock_ambiant + coalesce(adj.delta_ambiant_total, 0), 0) AS stock_ambiant,
       greatest(s.stock_15c + coalesce(adj.delta_15c_total, 0), 0)         AS stock_15c,
       s.last_movement_at,
       s.updated_at,
       s.stock_ambiant                        AS stock_ambiant_base,
       s.stock_15c                            AS stock_15c_base,
       coalesce(adj.delta_ambiant_total, 0)   AS delta_ambiant_total,
       coalesce(adj.delta_15c_total, 0)       AS delta_15c_total
FROM public.stocks_snapshot s
LEFT JOIN adj ON adj.citerne_id = s.citerne_id
             AND adj.produit_id = s.produit_id
             AND adj.proprietaire_type = s.proprietaire_type;

-- No capacity and no names here: join citernes for those.
CREATE VIEW public.v_stock_actuel WITH (security_invoker = true) AS
SELECT v.depot_id,
       v.citerne_id,
       v.produit_id,
       v.proprietaire_type,
       v.stock_ambiant,
       v.stock_15c,
       v.last_movement_at,
       v.updated_at,
       v.stock_ambiant_base,
       v.stock_15c_base,
       v.delta_ambiant_total,
       v.delta_15c_total
FROM public.v_stocks_snapshot_corrige v;

-- Movements feeding the journal rebuild. The J0 row of a key is whatever part
-- of its snapshot the validated movements do not explain (the stock declared
-- at start-up through stock_snapshot_apply_delta), dated the day before the
-- key's first movement (today when it has none).
CREATE VIEW public.v_mouvements_stock WITH (security_invoker = true) AS
WITH mv AS (
  SELECT 'RECEPTION'::text                          AS mouvement_type,
         r.id                                       AS mouvement_id,
         r.date_reception                           AS date_jour,
         c.depot_id,
         r.citerne_id,
         r.produit_id,
         r.proprietaire_type,
         r.volume_ambiant                           AS delta_ambiant,
         coalesce(r.volume_15c, r.volume_corrige_15c) AS delta_15c,
         r.created_at
  FROM public.receptions r
  JOIN public.citernes c ON c.id = r.citerne_id
  WHERE r.statut = 'validee'
  UNION ALL
  SELECT 'SORTIE'::text,
         s.id,
         s.date_sortie::date,
         c.depot_id,
         s.citerne_id,
         s.produit_id,
         s.proprietaire_type,
         -s.volume_ambiant,
         -coalesce(s.volume_15c, s.volume_corrige_15c, 0),
         s.created_at
  FROM public.sorties_produit s
  JOIN public.citernes c ON c.id = s.citerne_id
  WHERE s.statut = 'validee'
),
totals AS (
  SELECT citerne_id, produit_id, proprietaire_type,
         sum(delta_ambiant) AS amb, sum(delta_15c) AS v15, min(date_jour) AS first_day
  FROM mv
  GROUP BY citerne_id, produit_id, proprietaire_type
)
SELECT mv.mouvement_type, mv.mouvement_id, mv.date_jour, mv.depot_id, mv.citerne_id, mv.produit_id,
       mv.proprietaire_type, mv.delta_ambiant, mv.delta_15c, mv.created_at
FROM mv
UNION ALL
SELECT 'J0'::text,
       NULL::uuid,
       coalesce(t.first_day - 1, CURRENT_DATE),
       s.depot_id,
       s.citerne_id,
       s.produit_id,
       s.proprietaire_type,
       s.stock_ambiant - coalesce(t.amb, 0),
       s.stock_15c - coalesce(t.v15, 0),
       s.updated_at
FROM public.stocks_snapshot s
LEFT JOIN totals t ON t.citerne_id = s.citerne_id
                  AND t.produit_id = s.produit_id
                  AND t.proprietaire_type = s.proprietaire_type
WHERE abs(s.stock_ambiant - coalesce(t.amb, 0)) > 0.001
   OR abs(s.stock_15c - coalesce(t.v15, 0)) > 0.001;

-- Recomputes the journal of a depot (all depots when p_depot_id is NULL) for
-- the days in [p_from, p_to] that have movements: rows with source SYSTEM or
-- REBUILD in the range are deleted, then every (key, day) with a movement is
-- rewritten with the cumulative balance from v_mouvements_stock, source SYSTEM.
-- Returns the number of rows written.
CREATE OR REPLACE FUNCTION public.rebuild_stocks_journaliers(p_depot_id uuid, p_from date, p_to date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_flag  text := current_setting('app.stocks_journaliers_allow_write', true);
  v_count integer;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from > p_to THEN
    RAISE EXCEPTION 'REBUILD_PERIODE_INVALIDE: période [%, %] invalide', p_from, p_to USING ERRCODE = '22023';
  END IF;
  PERFORM set_config('app.stocks_journaliers_allow_write', '1', true);

  DELETE FROM stocks_journaliers j
  WHERE (p_depot_id IS NULL OR j.depot_id = p_depot_id)
    AND j.date_jour BETWEEN p_from AND p_to
    AND j.source IN ('SYSTEM', 'REBUILD');

  WITH daily AS (
    SELECT m.citerne_id, m.produit_id, m.proprietaire_type, m.date_jour,
           (array_agg(m.depot_id))[1] AS depot_id,
           sum(m.delta_ambiant) AS d_amb,
           sum(m.delta_15c)     AS d_15c
    FROM v_mouvements_stock m
    WHERE p_depot_id IS NULL OR m.depot_id = p_depot_id
    GROUP BY m.citerne_id, m.produit_id, m.proprietaire_type, m.date_jour
  ),
  cumul AS (
    SELECT d.*,
           sum(d.d_amb) OVER w AS stock_ambiant,
           sum(d.d_15c) OVER w AS stock_15c
    FROM daily d
    WINDOW w AS (PARTITION BY d.citerne_id, d.produit_id, d.proprietaire_type ORDER BY d.date_jour)
  )
  INSERT INTO stocks_journaliers AS j
    (citerne_id, produit_id, date_jour, stock_ambiant, stock_15c, proprietaire_type, depot_id, source)
  SELECT c.citerne_id, c.produit_id, c.date_jour, c.stock_ambiant, c.stock_15c, c.proprietaire_type, c.depot_id, 'SYSTEM'
  FROM cumul c
  WHERE c.date_jour BETWEEN p_from AND p_to
  ON CONFLICT (citerne_id, produit_id, date_jour, proprietaire_type) DO UPDATE
    SET stock_ambiant = EXCLUDED.stock_ambiant,
        stock_15c     = EXCLUDED.stock_15c,
        depot_id      = EXCLUDED.depot_id,
        source        = 'SYSTEM',
        updated_at    = now();
  GET DIAGNOSTICS v_count = ROW_COUNT;

  PERFORM set_config('app.stocks_journaliers_allow_write', coalesce(v_flag, ''), true);
  RETURN v_count;
END
$$;

REVOKE EXECUTE ON FUNCTION public.rebuild_stocks_journaliers(uuid, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.rebuild_stocks_journaliers(uuid, date, date) TO service_role;
