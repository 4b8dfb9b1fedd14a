-- 0011_rls.sql
-- Row-level security in ML_PP's hardened state (after the "0 public policy"
-- hardening of 2026-02-21), following the S2 model (2026-01-09):
--  * cadres (admin, directeur, gerant, pca) read everything; operateur and
--    lecture read their own depot only;
--  * admin, directeur and gerant create CDRs, receptions and sorties anywhere,
--    operateur only in its own depot;
--  * reference data is admin-write; log_actions is readable by cadres;
--    stocks_adjustments INSERT is admin only (S2; ML_PP's
--    security_stocks_adjustments.md of 2026-02-12 disagrees, see README);
--  * every policy is TO authenticated with a real condition: 0 public policies.
-- infra/mlpp/fixtures/pre_hardening_policies.sql puts the pre-hardening state back.

-- S2 helper functions.
CREATE OR REPLACE FUNCTION public.app_uid() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT auth.uid() $$;

CREATE OR REPLACE FUNCTION public.app_current_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT p.role FROM profils p WHERE p.user_id = auth.uid() LIMIT 1 $$;

CREATE OR REPLACE FUNCTION public.app_current_depot_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT p.depot_id FROM profils p WHERE p.user_id = auth.uid() LIMIT 1 $$;

CREATE OR REPLACE FUNCTION public.app_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT coalesce(public.app_current_role() = 'admin', false) $$;

CREATE OR REPLACE FUNCTION public.app_is_pca() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT coalesce(public.app_current_role() = 'pca', false) $$;

CREATE OR REPLACE FUNCTION public.app_is_cadre() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT coalesce(public.app_current_role() IN ('admin', 'directeur', 'gerant', 'pca'), false) $$;

-- May the caller create movements / move CDRs for this depot?
CREATE OR REPLACE FUNCTION public.app_can_operate_depot(p_depot_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT coalesce(
    public.app_current_role() IN ('admin', 'directeur', 'gerant')
    OR (public.app_current_role() = 'operateur' AND p_depot_id = public.app_current_depot_id()),
    false)
$$;

-- May the caller read rows of this depot?
CREATE OR REPLACE FUNCTION public.app_can_read_depot(p_depot_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT coalesce(public.app_is_cadre() OR p_depot_id = public.app_current_depot_id(), false)
$$;

CREATE OR REPLACE FUNCTION public.app_citerne_depot_id(p_citerne_id uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ SELECT c.depot_id FROM citernes c WHERE c.id = p_citerne_id $$;

-- RLS on every business table.
ALTER TABLE public.depots             ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.produits           ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.clients            ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.fournisseurs       ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.partenaires        ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.fournisseur_lot    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.citernes           ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cours_de_route     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.receptions         ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.sorties_produit    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stocks_snapshot    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stocks_journaliers ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stocks_adjustments ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.log_actions        ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.profils            ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.prises_de_hauteur  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.system_alerts      ENABLE ROW LEVEL SECURITY;

-- Reference data: any signed-in user reads, admin writes.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['depots', 'produits', 'clients', 'fournisseurs', 'partenaires', 'fournisseur_lot'] LOOP
    EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated USING (public.app_uid() IS NOT NULL)',
                   t || '_select_authenticated', t);
    EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO authenticated USING (public.app_is_admin()) WITH CHECK (public.app_is_admin())',
                   t || '_write_admin', t);
  END LOOP;
END
$$;

-- citernes ("read citernes" TO public USING (true) was dropped by the hardening).
CREATE POLICY citernes_select ON public.citernes FOR SELECT TO authenticated
  USING (public.app_can_read_depot(depot_id));
CREATE POLICY citernes_write_admin ON public.citernes FOR ALL TO authenticated
  USING (public.app_is_admin()) WITH CHECK (public.app_is_admin());

-- cours_de_route (select/insert moved from public to authenticated by the hardening).
CREATE POLICY cours_de_route_select ON public.cours_de_route FOR SELECT TO authenticated
  USING (public.app_can_read_depot(depot_destination_id));
CREATE POLICY cours_de_route_insert ON public.cours_de_route FOR INSERT TO authenticated
  WITH CHECK (public.app_can_operate_depot(depot_destination_id));
-- ML_PP's Feb-11 WITH CHECK compared r.cours_de_route_id = r.id (a
-- self-comparison); written here as intended.
CREATE POLICY cours_de_route_update_status ON public.cours_de_route FOR UPDATE TO authenticated
  USING (public.app_can_operate_depot(depot_destination_id))
  WITH CHECK (public.app_can_operate_depot(depot_destination_id));
CREATE POLICY cours_de_route_delete_admin ON public.cours_de_route FOR DELETE TO authenticated
  USING (public.app_is_admin());

-- receptions (no UPDATE/DELETE policy: receptions are immutable).
CREATE POLICY receptions_select ON public.receptions FOR SELECT TO authenticated
  USING (public.app_can_read_depot(public.app_citerne_depot_id(citerne_id)));
CREATE POLICY receptions_insert ON public.receptions FOR INSERT TO authenticated
  WITH CHECK (public.app_can_operate_depot(public.app_citerne_depot_id(citerne_id)));

-- sorties_produit: ML_PP's six policies, moved to authenticated by the hardening.
CREATE POLICY sorties_produit_select ON public.sorties_produit FOR SELECT TO authenticated
  USING (public.app_can_read_depot(public.app_citerne_depot_id(citerne_id)));
CREATE POLICY sp_read ON public.sorties_produit FOR SELECT TO authenticated
  USING (public.app_can_read_depot(public.app_citerne_depot_id(citerne_id)));
CREATE POLICY sorties_produit_insert ON public.sorties_produit FOR INSERT TO authenticated
  WITH CHECK (public.app_can_operate_depot(public.app_citerne_depot_id(citerne_id)));
CREATE POLICY sp_insert_draft ON public.sorties_produit FOR INSERT TO authenticated
  WITH CHECK (statut = 'brouillon' AND created_by = public.app_uid()
              AND public.app_can_operate_depot(public.app_citerne_depot_id(citerne_id)));
CREATE POLICY sp_update_draft ON public.sorties_produit FOR UPDATE TO authenticated
  USING (statut = 'brouillon' AND created_by = public.app_uid())
  WITH CHECK (created_by = public.app_uid());
CREATE POLICY sp_delete ON public.sorties_produit FOR DELETE TO authenticated
  USING (statut = 'brouillon' AND (created_by = public.app_uid() OR public.app_is_admin()));

-- stocks (written only by SECURITY DEFINER functions).
CREATE POLICY stocks_snapshot_select ON public.stocks_snapshot FOR SELECT TO authenticated
  USING (public.app_can_read_depot(depot_id));
-- ("read stocks_journaliers" TO public USING (true) was dropped by the hardening.)
CREATE POLICY stocks_journaliers_select ON public.stocks_journaliers FOR SELECT TO authenticated
  USING (public.app_can_read_depot(depot_id));

CREATE POLICY stocks_adjustments_select ON public.stocks_adjustments FOR SELECT TO authenticated
  USING (public.app_can_read_depot(depot_id));
CREATE POLICY stocks_adjustments_insert_admin ON public.stocks_adjustments FOR INSERT TO authenticated
  WITH CHECK (public.app_is_admin());

-- log_actions: cadres read; a user may insert rows under its own id (or none), as in SNAP.
CREATE POLICY log_actions_select_cadres ON public.log_actions FOR SELECT TO authenticated
  USING (public.app_is_cadre());
CREATE POLICY log_actions_insert_authenticated ON public.log_actions FOR INSERT TO authenticated
  WITH CHECK (user_id IS NULL OR user_id = public.app_uid());

-- profils: own-profile policies (moved to authenticated by the hardening; the
-- "Update own profile" policy still lets a user change its own role, as in
-- ML_PP's SNAP), cadres read all, admin manages all.
CREATE POLICY "Read own profile" ON public.profils FOR SELECT TO authenticated
  USING (user_id = auth.uid());
CREATE POLICY "Insert own profile" ON public.profils FOR INSERT TO authenticated
  WITH CHECK (user_id = auth.uid());
CREATE POLICY "Update own profile" ON public.profils FOR UPDATE TO authenticated
  USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
CREATE POLICY profils_select_cadres ON public.profils FOR SELECT TO authenticated
  USING (public.app_is_cadre());
CREATE POLICY profils_admin_all ON public.profils FOR ALL TO authenticated
  USING (public.app_is_admin()) WITH CHECK (public.app_is_admin());

-- prises_de_hauteur (select/insert moved to authenticated by the hardening).
CREATE POLICY prises_de_hauteur_select ON public.prises_de_hauteur FOR SELECT TO authenticated
  USING (public.app_can_read_depot(public.app_citerne_depot_id(citerne_id)));
CREATE POLICY prises_de_hauteur_insert ON public.prises_de_hauteur FOR INSERT TO authenticated
  WITH CHECK (public.app_can_operate_depot(public.app_citerne_depot_id(citerne_id)));

-- system_alerts: the integrity screen (admin, directeur, pca) reads; admin and
-- directeur ACK / RESOLVE. ML_PP's update policy compares profils.id =
-- auth.uid() (PHASE2_TECH_DEBT); written here with profils.user_id.
CREATE POLICY system_alerts_select_authenticated ON public.system_alerts FOR SELECT TO authenticated
  USING (public.app_current_role() IN ('admin', 'directeur', 'pca'));
CREATE POLICY system_alerts_update_admin_directeur ON public.system_alerts FOR UPDATE TO authenticated
  USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.user_id = auth.uid() AND p.role IN ('admin', 'directeur')))
  WITH CHECK (EXISTS (SELECT 1 FROM public.profils p WHERE p.user_id = auth.uid() AND p.role IN ('admin', 'directeur')));

-- Table privileges like Supabase's for authenticated and service_role (RLS
-- does the filtering; service_role has BYPASSRLS). anon gets nothing here:
-- the pre-hardening fixture grants it what it needs to show the old leak.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  public.depots, public.produits, public.clients, public.fournisseurs, public.partenaires,
  public.fournisseur_lot, public.citernes, public.cours_de_route, public.receptions,
  public.sorties_produit, public.stocks_snapshot, public.stocks_journaliers,
  public.stocks_adjustments, public.log_actions, public.profils, public.prises_de_hauteur,
  public.system_alerts
TO authenticated;
GRANT ALL ON
  public.depots, public.produits, public.clients, public.fournisseurs, public.partenaires,
  public.fournisseur_lot, public.citernes, public.cours_de_route, public.receptions,
  public.sorties_produit, public.stocks_snapshot, public.stocks_journaliers,
  public.stocks_adjustments, public.log_actions, public.profils, public.prises_de_hauteur,
  public.system_alerts
TO service_role;
GRANT SELECT ON public.logs, public.v_stocks_snapshot_corrige, public.v_stock_actuel,
  public.v_mouvements_stock, public.v_integrity_checks
TO authenticated, service_role;
