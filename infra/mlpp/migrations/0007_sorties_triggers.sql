-- 0007_sorties_triggers.sql
-- Sortie behaviour (DOMAIN.md section 3). The app inserts with statut='validee'.
-- BEFORE INSERT triggers fire in name order, which is ML_PP's order:
--   trg_01 created_by <- auth.uid()
--   trg_02 volume_ambiant <- greatest(index_apres - index_avant, 0)
--   trg_03 ASTM fills volume_15c and volume_corrige_15c (whole litres)
--   trg_04 sorties_before_validate_trg (owner, tank active, volumes, snapshot stock, safety)
--   trg_05 tank product = sortie product
-- Brouillon (and rejetee) sorties skip validation and effects.
-- AFTER INSERT: sorties_after_insert_trg (journal, snapshot, SORTIE_VALIDE log).
-- BEFORE UPDATE/DELETE: trg_00_sorties_produit_block_update_delete; as every
-- UPDATE raises, a brouillon can never be validated (as in ML_PP).

CREATE OR REPLACE FUNCTION public.sorties_produit_block_update_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- STAGING's bypass flag (named after receptions in ML_PP) is honoured here too.
  IF coalesce(current_setting('app.receptions_allow_write', true), '') IN ('1', 'on', 'true') THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'SORTIE_IMMUTABLE: % interdit sur la sortie % (une sortie est immuable ; corriger par un ajustement)', TG_OP, OLD.id
    USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER trg_00_sorties_produit_block_update_delete
  BEFORE UPDATE OR DELETE ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_produit_block_update_delete();

CREATE OR REPLACE FUNCTION public.sorties_set_created_by() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.created_by := coalesce(auth.uid(), NEW.created_by);
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_01_sorties_set_created_by
  BEFORE INSERT ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_set_created_by();

CREATE OR REPLACE FUNCTION public.sorties_set_volume_ambiant() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.volume_ambiant := greatest(NEW.index_apres - NEW.index_avant, 0);
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_02_sorties_set_volume_ambiant
  BEFORE INSERT ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_set_volume_ambiant();

-- ASTM for sorties: both 15 degC columns, whole litres. A legacy row without
-- temperature and density keeps its client-provided values (our choice, see 0006).
CREATE OR REPLACE FUNCTION public.sorties_compute_15c() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_densite double precision := coalesce(NEW.densite_a_15_kgm3, NEW.densite_a_15);
  v_15c     double precision;
BEGIN
  IF NEW.temperature_ambiante_c IS NOT NULL OR v_densite IS NOT NULL THEN
    v_15c := astm.volume_15c(NEW.volume_ambiant, NEW.temperature_ambiante_c, v_densite, 0);
    NEW.volume_15c := v_15c;
    NEW.volume_corrige_15c := v_15c;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_03_sorties_compute_15c_before_ins
  BEFORE INSERT ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_compute_15c();

CREATE OR REPLACE FUNCTION public.sorties_before_validate_trg() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_citerne_statut text;
  v_securite       double precision;
  v_15c            double precision := coalesce(NEW.volume_15c, NEW.volume_corrige_15c);
  v_stock_amb      double precision;
  v_stock_15c      double precision;
BEGIN
  IF NEW.statut IS DISTINCT FROM 'validee' THEN
    RETURN NEW;
  END IF;

  -- The owner is derived from the beneficiary.
  IF NEW.client_id IS NOT NULL AND NEW.partenaire_id IS NULL THEN
    NEW.proprietaire_type := 'MONALUXE';
  ELSIF NEW.partenaire_id IS NOT NULL AND NEW.client_id IS NULL THEN
    NEW.proprietaire_type := 'PARTENAIRE';
  ELSE
    RAISE EXCEPTION 'SORTIE_PROPRIETAIRE_INVALIDE: une sortie a soit un client (MONALUXE) soit un partenaire (PARTENAIRE) (client_id=%, partenaire_id=%)',
      NEW.client_id, NEW.partenaire_id;
  END IF;

  SELECT c.statut, c.capacite_securite INTO v_citerne_statut, v_securite
  FROM citernes c WHERE c.id = NEW.citerne_id;
  IF NOT FOUND OR v_citerne_statut <> 'active' THEN
    RAISE EXCEPTION 'SORTIE_CITERNE_INACTIVE: la citerne % n''est pas active (statut %)', NEW.citerne_id, coalesce(v_citerne_statut, 'introuvable');
  END IF;

  IF NEW.volume_ambiant IS NULL OR v_15c IS NULL THEN
    RAISE EXCEPTION 'SORTIE_VOLUMES_MANQUANTS: volume ambiant (%) et volume à 15°C (%) requis', NEW.volume_ambiant, v_15c;
  END IF;

  SELECT s.stock_ambiant, s.stock_15c INTO v_stock_amb, v_stock_15c
  FROM stocks_snapshot s
  WHERE s.citerne_id = NEW.citerne_id AND s.produit_id = NEW.produit_id AND s.proprietaire_type = NEW.proprietaire_type
  FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'SORTIE_STOCK_INTROUVABLE: aucun stock pour citerne %, produit %, propriétaire %',
      NEW.citerne_id, NEW.produit_id, NEW.proprietaire_type;
  END IF;

  IF v_stock_15c < v_15c THEN
    RAISE EXCEPTION 'SORTIE_STOCK_INSUFFISANT_15C: stock disponible % L à 15°C, demandé % L', v_stock_15c, v_15c;
  END IF;
  IF v_stock_amb < NEW.volume_ambiant THEN
    RAISE EXCEPTION 'SORTIE_STOCK_INSUFFISANT_AMB: stock disponible % L ambiant, demandé % L', v_stock_amb, NEW.volume_ambiant;
  END IF;
  IF v_stock_amb - NEW.volume_ambiant < v_securite THEN
    RAISE EXCEPTION 'SORTIE_CAPACITE_SECURITE: le stock ambiant après sortie (% L) passerait sous la capacité de sécurité (% L)',
      v_stock_amb - NEW.volume_ambiant, v_securite;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_04_sorties_before_validate
  BEFORE INSERT ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_before_validate_trg();

CREATE OR REPLACE FUNCTION public.sorties_check_produit_citerne() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_produit uuid;
BEGIN
  SELECT c.produit_id INTO v_produit FROM citernes c WHERE c.id = NEW.citerne_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'CITERNE_INTROUVABLE: citerne % introuvable', NEW.citerne_id USING ERRCODE = '23503';
  END IF;
  IF v_produit <> NEW.produit_id THEN
    RAISE EXCEPTION 'PRODUIT_CITERNE_MISMATCH: la citerne % contient le produit %, la sortie déclare %',
      NEW.citerne_id, v_produit, NEW.produit_id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_05_sorties_check_produit_citerne
  BEFORE INSERT ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_check_produit_citerne();

-- Effects of a validated sortie: journal and snapshot debited by -ambient and
-- -coalesce(volume_15c, volume_corrige_15c, 0) (ML_PP fix of 2026-04-04).
CREATE OR REPLACE FUNCTION public.sorties_after_insert_trg() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_depot uuid;
  v_15c   double precision := coalesce(NEW.volume_15c, NEW.volume_corrige_15c, 0);
BEGIN
  IF NEW.statut <> 'validee' THEN
    RETURN NULL;
  END IF;
  SELECT c.depot_id INTO v_depot FROM citernes c WHERE c.id = NEW.citerne_id;

  PERFORM stock_journalier_apply_delta(NEW.date_sortie::date, NEW.citerne_id, NEW.produit_id, NEW.proprietaire_type,
                                       v_depot, -NEW.volume_ambiant, -v_15c, 'SORTIE');
  PERFORM stock_snapshot_apply_delta(NEW.citerne_id, NEW.produit_id, NEW.proprietaire_type, v_depot,
                                     -NEW.volume_ambiant, -v_15c, NEW.date_sortie);

  -- Trigger logs leave cible_id empty; ids go in details (as in ML_PP).
  INSERT INTO log_actions (user_id, action, module, niveau, details)
  VALUES (coalesce(auth.uid(), NEW.created_by), 'SORTIE_VALIDE', 'sorties_produit', 'INFO',
    jsonb_build_object(
      'sortie_id', NEW.id,
      'citerne_id', NEW.citerne_id,
      'produit_id', NEW.produit_id,
      'proprietaire_type', NEW.proprietaire_type,
      'client_id', NEW.client_id,
      'partenaire_id', NEW.partenaire_id,
      'volume_ambiant', NEW.volume_ambiant,
      'volume_15c', v_15c,
      'date_sortie', NEW.date_sortie));
  RETURN NULL;
END
$$;

CREATE TRIGGER trg_sorties_after_insert
  AFTER INSERT ON public.sorties_produit
  FOR EACH ROW EXECUTE FUNCTION public.sorties_after_insert_trg();
