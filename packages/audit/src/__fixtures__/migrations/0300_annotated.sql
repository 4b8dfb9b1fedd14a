-- vigie:allow-destructive reason: vue remplacée à l'identique, ajout de security_invoker (audit RLS 2026-04)
CREATE OR REPLACE VIEW public.v_stock_actuel WITH (security_invoker = true) AS SELECT 1 AS stock_ambiant;

-- vigie:allow-destructive
DROP POLICY "Update own profile" ON public.profils;

/* vigie:allow-destructive reason: court */
ALTER TABLE public.citernes DROP COLUMN localisation;

-- vigie:allow-destructive reason: annotation posée devant une instruction additive
CREATE INDEX IF NOT EXISTS citernes_nom_idx ON public.citernes (nom);
