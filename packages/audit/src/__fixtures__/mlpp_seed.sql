-- Minimal data for the reference-database tests (DOMAIN §0: one depot, the
-- Gasoil product, two tanks, one daily balance each), so the probe has rows
-- to find. Written through the same stocks_journaliers write flag as ML_PP's
-- rebuild; run as a superuser, in one transaction.
INSERT INTO public.depots (id, nom) VALUES ('11111111-1111-1111-1111-111111111111', 'Dépôt Daipn');
INSERT INTO public.produits (id, nom, code) VALUES ('22222222-2222-2222-2222-222222222222', 'Gasoil/AGO', 'G.O');
INSERT INTO public.citernes (depot_id, nom, produit_id, capacite_totale)
VALUES ('11111111-1111-1111-1111-111111111111', 'TANK1', '22222222-2222-2222-2222-222222222222', 500000),
       ('11111111-1111-1111-1111-111111111111', 'TANK2', '22222222-2222-2222-2222-222222222222', 500000);
SELECT set_config('app.stocks_journaliers_allow_write', '1', true);
INSERT INTO public.stocks_journaliers (citerne_id, produit_id, date_jour, stock_ambiant, stock_15c, depot_id, source)
SELECT id, produit_id, DATE '2026-02-05', 10000, 9950, depot_id, 'SYSTEM' FROM public.citernes;
