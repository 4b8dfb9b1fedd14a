-- 0005_stock_functions.sql
-- The stock plumbing shared by the movement triggers:
--  * stocks_journaliers write guard (transaction flag app.stocks_journaliers_allow_write),
--  * stock_journalier_apply_delta: cumulative daily balance upsert,
--  * stock_snapshot_apply_delta: the only writer of stocks_snapshot (SECURITY DEFINER).

-- stocks_journaliers: every write raises unless the transaction set
-- app.stocks_journaliers_allow_write = '1' (only the trigger functions and
-- rebuild_stocks_journaliers do, with set_config(..., true)).
CREATE OR REPLACE FUNCTION public.stocks_journaliers_block_writes() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF coalesce(current_setting('app.stocks_journaliers_allow_write', true), '') <> '1' THEN
    RAISE EXCEPTION 'STOCKS_JOURNALIERS_WRITE_FORBIDDEN: % direct sur stocks_journaliers interdit (écrit uniquement par les triggers de mouvement et rebuild_stocks_journaliers)', TG_OP
      USING ERRCODE = '42501';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_00_stocks_journaliers_block_writes
  BEFORE INSERT OR UPDATE OR DELETE ON public.stocks_journaliers
  FOR EACH ROW EXECUTE FUNCTION public.stocks_journaliers_block_writes();

-- Adds a movement to the cumulative journal of (date, tank, product, owner).
-- A day's first row starts from the latest earlier balance of the key. Rows of
-- later days (back-dated movement) are shifted by the same delta so that every
-- row stays "balance at end of day".
CREATE OR REPLACE FUNCTION public.stock_journalier_apply_delta(
  p_date              date,
  p_citerne_id        uuid,
  p_produit_id        uuid,
  p_proprietaire_type text,
  p_depot_id          uuid,
  p_delta_ambiant     double precision,
  p_delta_15c         double precision,
  p_source            text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_flag     text := current_setting('app.stocks_journaliers_allow_write', true);
  v_prev_amb double precision;
  v_prev_15c double precision;
BEGIN
  PERFORM set_config('app.stocks_journaliers_allow_write', '1', true);

  UPDATE stocks_journaliers j
     SET stock_ambiant = j.stock_ambiant + p_delta_ambiant,
         stock_15c     = j.stock_15c + p_delta_15c,
         source        = p_source,
         updated_at    = now()
   WHERE j.citerne_id = p_citerne_id AND j.produit_id = p_produit_id
     AND j.proprietaire_type = p_proprietaire_type AND j.date_jour = p_date;

  IF NOT FOUND THEN
    SELECT j.stock_ambiant, j.stock_15c INTO v_prev_amb, v_prev_15c
    FROM stocks_journaliers j
    WHERE j.citerne_id = p_citerne_id AND j.produit_id = p_produit_id
      AND j.proprietaire_type = p_proprietaire_type AND j.date_jour < p_date
    ORDER BY j.date_jour DESC
    LIMIT 1;

    INSERT INTO stocks_journaliers AS j
      (citerne_id, produit_id, date_jour, stock_ambiant, stock_15c, proprietaire_type, depot_id, source)
    VALUES
      (p_citerne_id, p_produit_id, p_date, coalesce(v_prev_amb, 0) + p_delta_ambiant,
       coalesce(v_prev_15c, 0) + p_delta_15c, p_proprietaire_type, p_depot_id, p_source)
    ON CONFLICT (citerne_id, produit_id, date_jour, proprietaire_type) DO UPDATE
      SET stock_ambiant = j.stock_ambiant + p_delta_ambiant,
          stock_15c     = j.stock_15c + p_delta_15c,
          source        = p_source,
          updated_at    = now();
  END IF;

  UPDATE stocks_journaliers j
     SET stock_ambiant = j.stock_ambiant + p_delta_ambiant,
         stock_15c     = j.stock_15c + p_delta_15c,
         updated_at    = now()
   WHERE j.citerne_id = p_citerne_id AND j.produit_id = p_produit_id
     AND j.proprietaire_type = p_proprietaire_type AND j.date_jour > p_date;

  PERFORM set_config('app.stocks_journaliers_allow_write', coalesce(v_flag, ''), true);
END
$$;

-- The only writer of stocks_snapshot. Creates the row on a positive delta,
-- refuses a negative delta without a row and any result below zero.
-- (ML_PP declared its J0 stock from psql through this function.)
CREATE OR REPLACE FUNCTION public.stock_snapshot_apply_delta(
  p_citerne_id        uuid,
  p_produit_id        uuid,
  p_proprietaire_type text,
  p_depot_id          uuid,
  p_delta_ambiant     double precision,
  p_delta_15c         double precision,
  p_last_movement_at  timestamptz DEFAULT now()
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_depot uuid := p_depot_id;
  v_amb   double precision;
  v_15c   double precision;
BEGIN
  IF v_depot IS NULL THEN
    SELECT c.depot_id INTO v_depot FROM citernes c WHERE c.id = p_citerne_id;
  END IF;

  SELECT s.stock_ambiant, s.stock_15c INTO v_amb, v_15c
  FROM stocks_snapshot s
  WHERE s.citerne_id = p_citerne_id AND s.produit_id = p_produit_id AND s.proprietaire_type = p_proprietaire_type
  FOR UPDATE;

  IF NOT FOUND THEN
    IF p_delta_ambiant < 0 OR p_delta_15c < 0 THEN
      RAISE EXCEPTION 'SNAPSHOT_MISSING_FOR_NEGATIVE_DELTA: aucun stock pour citerne %, produit %, propriétaire % (delta % L / % L à 15°C)',
        p_citerne_id, p_produit_id, p_proprietaire_type, p_delta_ambiant, p_delta_15c;
    END IF;
    INSERT INTO stocks_snapshot AS s
      (citerne_id, produit_id, proprietaire_type, depot_id, stock_ambiant, stock_15c, last_movement_at, updated_at)
    VALUES
      (p_citerne_id, p_produit_id, p_proprietaire_type, v_depot, p_delta_ambiant, p_delta_15c, p_last_movement_at, now())
    ON CONFLICT (citerne_id, produit_id, proprietaire_type) DO UPDATE
      SET stock_ambiant    = s.stock_ambiant + p_delta_ambiant,
          stock_15c        = s.stock_15c + p_delta_15c,
          last_movement_at = greatest(s.last_movement_at, p_last_movement_at),
          updated_at       = now();
    RETURN;
  END IF;

  IF v_amb + p_delta_ambiant < 0 OR v_15c + p_delta_15c < 0 THEN
    RAISE EXCEPTION 'SNAPSHOT_NEGATIVE_STOCK_FORBIDDEN: stock citerne %, produit %, propriétaire % deviendrait négatif (% L + % L, % L + % L à 15°C)',
      p_citerne_id, p_produit_id, p_proprietaire_type, v_amb, p_delta_ambiant, v_15c, p_delta_15c;
  END IF;

  UPDATE stocks_snapshot s
     SET stock_ambiant    = s.stock_ambiant + p_delta_ambiant,
         stock_15c        = s.stock_15c + p_delta_15c,
         depot_id         = coalesce(s.depot_id, v_depot),
         last_movement_at = greatest(s.last_movement_at, p_last_movement_at),
         updated_at       = now()
   WHERE s.citerne_id = p_citerne_id AND s.produit_id = p_produit_id AND s.proprietaire_type = p_proprietaire_type;
END
$$;

REVOKE EXECUTE ON FUNCTION public.stock_journalier_apply_delta(date, uuid, uuid, text, uuid, double precision, double precision, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.stock_snapshot_apply_delta(uuid, uuid, text, uuid, double precision, double precision, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.stock_snapshot_apply_delta(uuid, uuid, text, uuid, double precision, double precision, timestamptz) TO service_role;
