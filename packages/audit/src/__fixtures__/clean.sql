-- A small ML_PP-like schema hardened to the "0 public policy" standard:
-- every table under RLS, policies TO authenticated keyed on profils.user_id,
-- no grant to anon, security_invoker views, helpers with a fixed search_path.
CREATE TABLE public.depots (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), nom text NOT NULL);
CREATE TABLE public.profils (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('admin','directeur','gerant','lecture','pca')),
  depot_id uuid REFERENCES public.depots(id)
);
CREATE TABLE public.citernes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  depot_id uuid NOT NULL REFERENCES public.depots(id),
  nom text NOT NULL,
  capacite_totale double precision NOT NULL CHECK (capacite_totale > 0)
);
CREATE TABLE public.stocks_journaliers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  citerne_id uuid NOT NULL REFERENCES public.citernes(id),
  date_jour date NOT NULL,
  stock_ambiant double precision NOT NULL,
  UNIQUE (citerne_id, date_jour)
);

-- A helper that is deliberately SECURITY INVOKER with a fixed search_path.
CREATE FUNCTION public.app_current_role() RETURNS text
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT p.role FROM public.profils p WHERE p.user_id = auth.uid()
$$;

ALTER TABLE public.depots ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.profils ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.citernes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stocks_journaliers ENABLE ROW LEVEL SECURITY;

CREATE POLICY depots_read ON public.depots FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.user_id = auth.uid()));
CREATE POLICY profils_own ON public.profils FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY citernes_read ON public.citernes FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.user_id = auth.uid()
                 AND (p.role IN ('admin','directeur','gerant','pca') OR p.depot_id = citernes.depot_id)));
CREATE POLICY citernes_admin_write ON public.citernes FOR INSERT TO authenticated
  WITH CHECK ((SELECT public.app_current_role()) = 'admin');
CREATE POLICY sj_read ON public.stocks_journaliers FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.user_id = auth.uid()));

CREATE VIEW public.v_stock AS
  SELECT c.nom, sum(s.stock_ambiant) AS stock FROM public.citernes c JOIN public.stocks_journaliers s ON s.citerne_id = c.id
  GROUP BY c.nom;
ALTER VIEW public.v_stock SET (security_invoker = true);

-- No anonymous access at all; authenticated keeps Supabase's grants, under RLS.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM anon;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM anon, PUBLIC;
GRANT EXECUTE ON FUNCTION public.app_current_role() TO authenticated;

INSERT INTO public.depots (id, nom) VALUES ('11111111-1111-1111-1111-111111111111', 'Dépôt Daipn');
INSERT INTO public.citernes (depot_id, nom, capacite_totale)
  SELECT '11111111-1111-1111-1111-111111111111', 'TANK' || g, 500000 FROM generate_series(1, 3) g;
INSERT INTO public.stocks_journaliers (citerne_id, date_jour, stock_ambiant)
  SELECT id, DATE '2026-02-01', 1000 FROM public.citernes;
