-- 0008_cdr_adjustments_triggers.sql
-- Cours de route: the database enforces only the allowed statuses (CHECK), one
-- open CDR per truck (uniq_open_cdr_per_truck), the lot-link rules and
-- "DECHARGE only through the reception trigger". Status changes write no log
-- and no timestamp, as in ML_PP.
-- stocks_adjustments: insert-only; context forced from the referenced movement.

CREATE OR REPLACE FUNCTION public.cours_de_route_guard_decharge() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- reception_after_ins_trg sets this transaction-local flag around its UPDATE.
  IF NEW.statut = 'DECHARGE'
     AND (TG_OP = 'INSERT' OR OLD.statut IS DISTINCT FROM 'DECHARGE')
     AND coalesce(current_setting('app.cdr_decharge_via_reception', true), '') <> '1' THEN
    RAISE EXCEPTION 'CDR_DECHARGE_INTERDIT: le cours de route % ne passe à DECHARGE que par une réception validée', NEW.id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_cours_de_route_guard_decharge
  BEFORE INSERT OR UPDATE ON public.cours_de_route
  FOR EACH ROW EXECUTE FUNCTION public.cours_de_route_guard_decharge();

-- Lot link (April 2026): a CDR may link only to an 'ouvert' lot of the same
-- supplier and product; once the CDR is DECHARGE its link is frozen.
CREATE OR REPLACE FUNCTION public.cours_de_route_check_lot() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_statut      text;
  v_fournisseur uuid;
  v_produit     uuid;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.statut = 'DECHARGE'
     AND NEW.fournisseur_lot_id IS DISTINCT FROM OLD.fournisseur_lot_id THEN
    RAISE EXCEPTION 'CDR_LOT_FIGE: le lien lot du cours de route % (DECHARGE) ne peut plus changer', NEW.id;
  END IF;
  IF NEW.fournisseur_lot_id IS NULL
     OR (TG_OP = 'UPDATE' AND NEW.fournisseur_lot_id IS NOT DISTINCT FROM OLD.fournisseur_lot_id) THEN
    RETURN NEW;
  END IF;
  SELECT l.statut, l.fournisseur_id, l.produit_id INTO v_statut, v_fournisseur, v_produit
  FROM fournisseur_lot l WHERE l.id = NEW.fournisseur_lot_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'CDR_LOT_INTROUVABLE: lot % introuvable', NEW.fournisseur_lot_id USING ERRCODE = '23503';
  END IF;
  IF v_statut <> 'ouvert' THEN
    RAISE EXCEPTION 'CDR_LOT_NON_OUVERT: le lot % est au statut %, ouvert attendu', NEW.fournisseur_lot_id, v_statut;
  END IF;
  IF v_fournisseur IS DISTINCT FROM NEW.fournisseur_id THEN
    RAISE EXCEPTION 'CDR_LOT_FOURNISSEUR_MISMATCH: le lot % appartient au fournisseur %, le cours de route au fournisseur %',
      NEW.fournisseur_lot_id, v_fournisseur, NEW.fournisseur_id;
  END IF;
  IF v_produit IS DISTINCT FROM NEW.produit_id THEN
    RAISE EXCEPTION 'CDR_LOT_PRODUIT_MISMATCH: le lot % porte le produit %, le cours de route le produit %',
      NEW.fournisseur_lot_id, v_produit, NEW.produit_id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_cours_de_route_check_lot
  BEFORE INSERT OR UPDATE ON public.cours_de_route
  FOR EACH ROW EXECUTE FUNCTION public.cours_de_route_check_lot();

-- stocks_adjustments: the referenced movement must exist; tank, product,
-- owner and depot are forced from it (a different value raises
-- CONTEXT_MISMATCH); created_by comes from the JWT sub when present.
-- Neither snapshot nor journal is touched and no log row is written (as in ML_PP).
CREATE OR REPLACE FUNCTION public.stocks_adjustments_before_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_citerne uuid;
  v_produit uuid;
  v_owner   text;
  v_depot   uuid;
  v_sub     text := auth.jwt() ->> 'sub';
BEGIN
  IF NEW.mouvement_type = 'RECEPTION' THEN
    SELECT r.citerne_id, r.produit_id, r.proprietaire_type, c.depot_id INTO v_citerne, v_produit, v_owner, v_depot
    FROM receptions r JOIN citernes c ON c.id = r.citerne_id
    WHERE r.id = NEW.mouvement_id;
  ELSIF NEW.mouvement_type = 'SORTIE' THEN
    SELECT s.citerne_id, s.produit_id, s.proprietaire_type, c.depot_id INTO v_citerne, v_produit, v_owner, v_depot
    FROM sorties_produit s JOIN citernes c ON c.id = s.citerne_id
    WHERE s.id = NEW.mouvement_id;
  END IF;
  IF v_citerne IS NULL THEN
    RAISE EXCEPTION 'ADJUSTMENT_MOUVEMENT_INTROUVABLE: % % introuvable', NEW.mouvement_type, NEW.mouvement_id
      USING ERRCODE = '23503';
  END IF;

  IF (NEW.citerne_id IS NOT NULL AND NEW.citerne_id <> v_citerne)
     OR (NEW.produit_id IS NOT NULL AND NEW.produit_id <> v_produit)
     OR (NEW.proprietaire_type IS NOT NULL AND NEW.proprietaire_type <> v_owner)
     OR (NEW.depot_id IS NOT NULL AND NEW.depot_id <> v_depot) THEN
    RAISE EXCEPTION 'CONTEXT_MISMATCH: le contexte fourni (citerne %, produit %, propriétaire %, dépôt %) ne correspond pas au mouvement % (citerne %, produit %, propriétaire %, dépôt %)',
      NEW.citerne_id, NEW.produit_id, NEW.proprietaire_type, NEW.depot_id, NEW.mouvement_id, v_citerne, v_produit, v_owner, v_depot;
  END IF;

  NEW.citerne_id := v_citerne;
  NEW.produit_id := v_produit;
  NEW.proprietaire_type := v_owner;
  NEW.depot_id := v_depot;
  IF nullif(v_sub, '') IS NOT NULL THEN
    NEW.created_by := v_sub::uuid;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_stocks_adjustments_before_insert
  BEFORE INSERT ON public.stocks_adjustments
  FOR EACH ROW EXECUTE FUNCTION public.stocks_adjustments_before_insert();

CREATE OR REPLACE FUNCTION public.stocks_adjustments_block_update_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'STOCKS_ADJUSTMENTS_IMMUTABLE: % interdit sur stocks_adjustments (insertion seule ; compenser par un nouvel ajustement)', TG_OP
    USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER trg_00_stocks_adjustments_block_update_delete
  BEFORE UPDATE OR DELETE ON public.stocks_adjustments
  FOR EACH ROW EXECUTE FUNCTION public.stocks_adjustments_block_update_delete();
