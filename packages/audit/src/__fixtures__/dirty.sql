-- Every pattern auditRls must flag, one or more tables each. Applied on top
-- of supabase_base.sql (Supabase's default grants apply to every table here).

-- ML_PP's pre-hardening leaks: TO public USING (true) (explicit and implicit).
CREATE TABLE public.citernes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), nom text NOT NULL, capacite_totale double precision NOT NULL CHECK (capacite_totale > 0));
CREATE TABLE public.stocks_journaliers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  citerne_id uuid NOT NULL REFERENCES public.citernes(id),
  date_jour date NOT NULL,
  stock_ambiant double precision NOT NULL,
  UNIQUE (citerne_id, date_jour)
);
ALTER TABLE public.citernes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stocks_journaliers ENABLE ROW LEVEL SECURITY;
CREATE POLICY "read citernes" ON public.citernes FOR SELECT TO public USING (true);
CREATE POLICY "read stocks_journaliers" ON public.stocks_journaliers FOR SELECT USING (true);
INSERT INTO public.citernes (nom, capacite_totale) SELECT 'TANK' || g, 500000 FROM generate_series(1, 4) g;
INSERT INTO public.stocks_journaliers (citerne_id, date_jour, stock_ambiant) SELECT id, DATE '2026-02-01', 1000 FROM public.citernes;

-- Explicit anon policy (not always true).
CREATE TABLE public.anon_notes (id serial PRIMARY KEY, owner uuid, body text);
ALTER TABLE public.anon_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY anon_notes_read ON public.anon_notes FOR SELECT TO anon USING (owner IS NULL AND body <> 'x');

-- Anonymous insert, always true.
CREATE TABLE public.public_inbox (id bigserial PRIMARY KEY, msg text);
ALTER TABLE public.public_inbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY inbox_insert ON public.public_inbox FOR INSERT TO public WITH CHECK (true);

-- Always-true write (and read) for any authenticated user.
CREATE TABLE public.journal (id bigserial PRIMARY KEY, action text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE public.journal ENABLE ROW LEVEL SECURITY;
CREATE POLICY journal_insert ON public.journal FOR INSERT TO authenticated WITH CHECK (1 = 1);
CREATE POLICY journal_read ON public.journal FOR SELECT TO authenticated USING (true);
INSERT INTO public.journal (action) VALUES ('RECEPTION_VALIDE'), ('SORTIE_VALIDE');

-- "auth.uid() IS NULL OR …": true for anon.
CREATE TABLE public.docs (id serial PRIMARY KEY, owner uuid, title text);
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY docs_read ON public.docs FOR SELECT TO authenticated USING (auth.uid() IS NULL OR owner = auth.uid());
CREATE POLICY docs_read_anon ON public.docs FOR SELECT TO anon USING ((SELECT auth.uid()) IS NULL OR owner = auth.uid());

-- user_metadata in a policy.
CREATE TABLE public.settings (key text PRIMARY KEY, value text);
ALTER TABLE public.settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY settings_admin ON public.settings FOR ALL TO authenticated
  USING ((auth.jwt() -> 'user_metadata' ->> 'role') = 'admin');

-- ML_PP's profils.id = auth.uid() bug.
CREATE TABLE public.profils (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid NOT NULL UNIQUE, role text NOT NULL);
ALTER TABLE public.profils ENABLE ROW LEVEL SECURITY;
CREATE POLICY profils_own ON public.profils FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE TABLE public.system_alerts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), status text NOT NULL DEFAULT 'OPEN');
ALTER TABLE public.system_alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY system_alerts_update_admin_directeur ON public.system_alerts FOR UPDATE TO authenticated
  USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.id = auth.uid() AND p.role IN ('admin', 'directeur')));

-- RLS off on exposed tables.
CREATE TABLE public.no_rls_table (id serial PRIMARY KEY, secret text);
INSERT INTO public.no_rls_table (secret) VALUES ('s1'), ('s2');
CREATE TABLE public.policies_no_rls (id serial PRIMARY KEY, v text);
CREATE POLICY pnr_read ON public.policies_no_rls FOR SELECT TO authenticated USING (v = 'ok');
CREATE TABLE public.hidden_no_rls (id serial PRIMARY KEY);
REVOKE ALL ON public.hidden_no_rls FROM anon, authenticated;

-- RLS on, no policy.
CREATE TABLE public.locked (id serial PRIMARY KEY);
ALTER TABLE public.locked ENABLE ROW LEVEL SECURITY;

-- Views.
CREATE VIEW public.v_citernes_definer AS SELECT id, nom FROM public.citernes;
CREATE VIEW public.v_docs_definer AS SELECT id, title FROM public.docs;
REVOKE ALL ON public.v_docs_definer FROM anon;
CREATE VIEW public.v_users AS SELECT id, email FROM auth.users;
REVOKE ALL ON public.v_users FROM anon;
CREATE MATERIALIZED VIEW public.mv_stock AS SELECT citerne_id, sum(stock_ambiant) AS s FROM public.stocks_journaliers GROUP BY 1;

-- Foreign table.
CREATE EXTENSION IF NOT EXISTS file_fdw;
CREATE SERVER helpc_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE public.ft_lines (line text) SERVER helpc_files OPTIONS (filename '/dev/null');

-- Functions.
CREATE FUNCTION public.secdef_nopath() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;
CREATE FUNCTION public.secdef_auth_only() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$ SELECT 1 $$;
REVOKE EXECUTE ON FUNCTION public.secdef_auth_only() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.secdef_auth_only() TO authenticated;
CREATE FUNCTION public.plain_nopath() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;
CREATE FUNCTION public.is_admin_buggy() RETURNS boolean LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT EXISTS (SELECT 1 FROM public.profils p WHERE p.id = auth.uid() AND p.role = 'admin')
$$;
REVOKE EXECUTE ON FUNCTION public.is_admin_buggy() FROM PUBLIC, anon;

-- A schema authenticated can write to, used in a function's search_path.
CREATE SCHEMA playground;
GRANT USAGE, CREATE ON SCHEMA playground TO authenticated;
CREATE FUNCTION public.uses_playground() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = playground, public AS $$ SELECT 3 $$;
REVOKE EXECUTE ON FUNCTION public.uses_playground() FROM PUBLIC, anon;

-- Grants to anon on a non-exposed schema (ML_PP's astm case).
CREATE SCHEMA astm;
CREATE TABLE astm.grid (densite numeric, temperature numeric, facteur numeric);
GRANT USAGE ON SCHEMA astm TO anon;
GRANT SELECT ON astm.grid TO anon;

-- Probe subtleties: RLS lets anon insert, a CHECK refuses the test row.
CREATE TABLE public.guarded_insert (id serial PRIMARY KEY, qty int NOT NULL CHECK (qty > 100));
ALTER TABLE public.guarded_insert ENABLE ROW LEVEL SECURITY;
CREATE POLICY gi_insert ON public.guarded_insert FOR INSERT TO public WITH CHECK (true);

-- Probe subtleties: RLS lets anon do anything, a trigger blocks UPDATE/DELETE.
CREATE TABLE public.frozen (id serial PRIMARY KEY, v text NOT NULL DEFAULT 'x');
ALTER TABLE public.frozen ENABLE ROW LEVEL SECURITY;
CREATE POLICY frozen_all ON public.frozen FOR ALL TO public USING (true);
CREATE FUNCTION public.frozen_block() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN RAISE EXCEPTION 'FROZEN_IMMUTABLE'; END $$;
CREATE TRIGGER trg_00_frozen_block BEFORE UPDATE OR DELETE ON public.frozen FOR EACH ROW EXECUTE FUNCTION public.frozen_block();
INSERT INTO public.frozen (v) VALUES ('a'), ('b');

-- A latent leak: TO public USING (true), but anon holds no privilege (yet).
CREATE TABLE public.latent_public (id serial PRIMARY KEY, v text);
ALTER TABLE public.latent_public ENABLE ROW LEVEL SECURITY;
CREATE POLICY latent_read ON public.latent_public FOR SELECT TO public USING (true);
REVOKE ALL ON public.latent_public FROM anon;
INSERT INTO public.latent_public (v) VALUES ('x');
