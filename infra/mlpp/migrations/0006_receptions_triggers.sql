-- 0006_receptions_triggers.sql
-- Réception behaviour (DOMAIN.md section 3). The app inserts without statut,
-- so the default 'validee' applies: INSERT = validation.
-- BEFORE INSERT triggers fire in name order:
--   trg_01 created_by <- auth.uid()
--   trg_02 volume_ambiant <- greatest(index_apres - index_avant, 0)
--   trg_03 linked CDR exists, is ARRIVE, same product
--   trg_04 tank product = reception product
--   trg_receptions_compute_15c_before_ins  volume_15c (ASTM, 0.1 L)
-- AFTER INSERT: reception_after_ins_trg (journal, snapshot, CDR -> DECHARGE,
-- RECEPTION_VALIDE log) and a second trigger logging RECEPTION_CREEE.
-- BEFORE UPDATE/DELETE: trg_00_receptions_block_update_delete.
-- Not checked at DB level, as in ML_PP: tank activity and tank capacity.

-- Immutability. STAGING's bypass flag app.receptions_allow_write is honoured.
CREATE OR REPLACE FUNCTION public.receptions_block_update_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF coalesce(current_setting('app.receptions_allow_write', true), '') IN ('1', 'on', 'true') THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'RECEPTION_IMMUTABLE: % interdit sur la réception % (une réception validée est immuable ; corriger par un ajustement)', TG_OP, OLD.id
    USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER trg_00_receptions_block_update_delete
  BEFORE UPDATE OR DELETE ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_block_update_delete();

-- created_by from the caller's JWT; a value provided by a caller without JWT
-- (psql, service scripts) is kept.
CREATE OR REPLACE FUNCTION public.receptions_set_created_by() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.created_by := coalesce(auth.uid(), NEW.created_by);
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_01_receptions_set_created_by
  BEFORE INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_set_created_by();

CREATE OR REPLACE FUNCTION public.receptions_set_volume_ambiant() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.volume_ambiant := greatest(NEW.index_apres - NEW.index_avant, 0);
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_02_receptions_set_volume_ambiant
  BEFORE INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_set_volume_ambiant();

CREATE OR REPLACE FUNCTION public.receptions_check_cours_de_route() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_statut  text;
  v_produit uuid;
BEGIN
  IF NEW.cours_de_route_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT c.statut, c.produit_id INTO v_statut, v_produit
  FROM cours_de_route c WHERE c.id = NEW.cours_de_route_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'RECEPTION_CDR_INTROUVABLE: cours de route % introuvable', NEW.cours_de_route_id
      USING ERRCODE = '23503';
  END IF;
  IF v_statut <> 'ARRIVE' THEN
    RAISE EXCEPTION 'RECEPTION_CDR_NON_ARRIVE: le cours de route % est au statut %, ARRIVE attendu', NEW.cours_de_route_id, v_statut;
  END IF;
  IF v_produit IS DISTINCT FROM NEW.produit_id THEN
    RAISE EXCEPTION 'RECEPTION_CDR_PRODUIT_MISMATCH: le cours de route % transporte le produit %, la réception déclare %',
      NEW.cours_de_route_id, v_produit, NEW.produit_id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_03_receptions_check_cours_de_route
  BEFORE INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_check_cours_de_route();

CREATE OR REPLACE FUNCTION public.receptions_check_produit_citerne() RETURNS trigger
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
    RAISE EXCEPTION 'PRODUIT_CITERNE_MISMATCH: la citerne % contient le produit %, la réception déclare %',
      NEW.citerne_id, v_produit, NEW.produit_id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_04_receptions_check_produit_citerne
  BEFORE INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_check_produit_citerne();

-- ASTM: volume_15c from ambient volume, temperature and observed density,
-- rounded to 0.1 L. Legacy clients (before the trigger existed) computed
-- volume_15c themselves and sent no temperature/density: such a row keeps its
-- client value. Our choice, ML_PP's exact behaviour here is not documented.
CREATE OR REPLACE FUNCTION public.receptions_compute_15c() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_densite double precision := coalesce(NEW.densite_observee_kgm3, NEW.densite_a_15_kgm3, NEW.densite_a_15);
BEGIN
  IF NEW.temperature_ambiante_c IS NOT NULL OR v_densite IS NOT NULL THEN
    NEW.volume_15c := astm.volume_15c(NEW.volume_ambiant, NEW.temperature_ambiante_c, v_densite, 1);
  ELSIF NEW.statut = 'validee' AND coalesce(NEW.volume_15c, NEW.volume_corrige_15c) IS NULL THEN
    RAISE EXCEPTION 'ASTM_DONNEES_MANQUANTES: température et densité requises pour calculer le volume à 15°C'
      USING ERRCODE = '23502';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_receptions_compute_15c_before_ins
  BEFORE INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_compute_15c();

-- Effects of a validated reception.
CREATE OR REPLACE FUNCTION public.reception_after_ins_trg() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_depot uuid;
  v_15c   double precision := coalesce(NEW.volume_15c, NEW.volume_corrige_15c);
  v_flag  text;
BEGIN
  IF NEW.statut <> 'validee' THEN
    RETURN NULL;
  END IF;
  SELECT c.depot_id INTO v_depot FROM citernes c WHERE c.id = NEW.citerne_id;

  PERFORM stock_journalier_apply_delta(NEW.date_reception, NEW.citerne_id, NEW.produit_id, NEW.proprietaire_type,
                                       v_depot, NEW.volume_ambiant, v_15c, 'RECEPTION');
  PERFORM stock_snapshot_apply_delta(NEW.citerne_id, NEW.produit_id, NEW.proprietaire_type, v_depot,
                                     NEW.volume_ambiant, v_15c, NEW.created_at);

  IF NEW.cours_de_route_id IS NOT NULL THEN
    v_flag := current_setting('app.cdr_decharge_via_reception', true);
    PERFORM set_config('app.cdr_decharge_via_reception', '1', true);
    UPDATE cours_de_route SET statut = 'DECHARGE' WHERE id = NEW.cours_de_route_id;
    PERFORM set_config('app.cdr_decharge_via_reception', coalesce(v_flag, ''), true);
  END IF;

  -- Trigger logs leave cible_id empty; ids go in details (as in ML_PP).
  INSERT INTO log_actions (user_id, action, module, niveau, details)
  VALUES (coalesce(auth.uid(), NEW.created_by), 'RECEPTION_VALIDE', 'receptions', 'INFO',
    jsonb_build_object(
      'reception_id', NEW.id,
      'cours_de_route_id', NEW.cours_de_route_id,
      'citerne_id', NEW.citerne_id,
      'produit_id', NEW.produit_id,
      'proprietaire_type', NEW.proprietaire_type,
      'partenaire_id', NEW.partenaire_id,
      'volume_ambiant', NEW.volume_ambiant,
      'volume_15c', v_15c,
      'date_reception', NEW.date_reception));
  RETURN NULL;
END
$$;

CREATE TRIGGER trg_reception_after_ins
  AFTER INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.reception_after_ins_trg();

CREATE OR REPLACE FUNCTION public.receptions_log_creee() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  -- Trigger logs leave cible_id empty; ids go in details (as in ML_PP).
  INSERT INTO log_actions (user_id, action, module, niveau, details)
  VALUES (coalesce(auth.uid(), NEW.created_by), 'RECEPTION_CREEE', 'receptions', 'INFO',
    jsonb_build_object(
      'reception_id', NEW.id,
      'citerne_id', NEW.citerne_id,
      'produit_id', NEW.produit_id,
      'statut', NEW.statut,
      'volume_ambiant', NEW.volume_ambiant));
  RETURN NULL;
END
$$;

CREATE TRIGGER trg_receptions_log_creee
  AFTER INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION public.receptions_log_creee();
