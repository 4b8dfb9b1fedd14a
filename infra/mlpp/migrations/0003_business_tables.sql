-- 0003_business_tables.sql
-- ML_PP business tables (DOMAIN.md section 2): tanks, inbound transports,
-- movements, stock tables, audit log, profiles, dips and integrity alerts.
-- Types follow ML_PP: f8 = double precision for volumes and capacities.

-- Tanks. One product per tank; owners (MONALUXE / PARTENAIRE) may share it.
CREATE TABLE public.citernes (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  depot_id          uuid NOT NULL REFERENCES public.depots (id),
  nom               text NOT NULL,
  produit_id        uuid NOT NULL REFERENCES public.produits (id),
  capacite_totale   double precision NOT NULL CONSTRAINT citernes_capacite_totale_check CHECK (capacite_totale > 0),
  capacite_securite double precision NOT NULL DEFAULT 0 CONSTRAINT citernes_capacite_securite_check CHECK (capacite_securite >= 0),
  localisation      text,
  statut            text NOT NULL DEFAULT 'active'
                    CONSTRAINT citernes_statut_check CHECK (statut IN ('active', 'inactive', 'maintenance')),
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX citernes_depot_idx ON public.citernes (depot_id);

-- Inbound truck transports (cours de route, CDR). No updated_at and no
-- per-status timestamp, as in ML_PP.
CREATE TABLE public.cours_de_route (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  fournisseur_id       uuid REFERENCES public.fournisseurs (id),
  depot_destination_id uuid REFERENCES public.depots (id),
  produit_id           uuid REFERENCES public.produits (id),
  plaque_camion        text NOT NULL,
  plaque_remorque      text,
  chauffeur_nom        text,
  transporteur         text,
  depart_pays          text,
  date_chargement      date,
  volume               numeric,
  statut               text NOT NULL DEFAULT 'CHARGEMENT'
                       CONSTRAINT cours_de_route_statut_check
                       CHECK (statut IN ('CHARGEMENT', 'TRANSIT', 'FRONTIERE', 'ARRIVE', 'DECHARGE')),
  note                 text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  fournisseur_lot_id   uuid REFERENCES public.fournisseur_lot (id)
);
-- One open (not yet unloaded) CDR per truck plate.
CREATE UNIQUE INDEX uniq_open_cdr_per_truck ON public.cours_de_route (plaque_camion) WHERE statut <> 'DECHARGE';
CREATE INDEX cours_de_route_statut_idx ON public.cours_de_route (statut);
CREATE INDEX cours_de_route_lot_idx ON public.cours_de_route (fournisseur_lot_id) WHERE fournisseur_lot_id IS NOT NULL;

-- Receptions: product entering a tank (credits stock). INSERT = validation.
CREATE TABLE public.receptions (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cours_de_route_id      uuid REFERENCES public.cours_de_route (id),
  citerne_id             uuid NOT NULL REFERENCES public.citernes (id),
  produit_id             uuid NOT NULL REFERENCES public.produits (id),
  partenaire_id          uuid REFERENCES public.partenaires (id),
  index_avant            double precision CONSTRAINT receptions_index_avant_check CHECK (index_avant >= 0),
  index_apres            double precision CONSTRAINT receptions_index_apres_check CHECK (index_apres >= 0),
  volume_ambiant         double precision,
  volume_observe         double precision,
  volume_15c             double precision,          -- canonical 15 degC volume (filled by the ASTM trigger)
  volume_corrige_15c     double precision,          -- legacy 15 degC column
  temperature_ambiante_c double precision,
  densite_a_15           double precision,          -- misnamed in ML_PP: holds the OBSERVED density, kg/m3
  densite_a_15_g_cm3     double precision,
  densite_a_15_kgm3      double precision,
  densite_observee_kgm3  double precision,
  proprietaire_type      text NOT NULL DEFAULT 'MONALUXE'
                         CONSTRAINT receptions_proprietaire_type_check CHECK (proprietaire_type IN ('MONALUXE', 'PARTENAIRE')),
  statut                 text NOT NULL DEFAULT 'validee'
                         CONSTRAINT receptions_statut_check CHECK (statut IN ('validee', 'rejetee')),
  created_by             uuid,
  validated_by           uuid,
  created_at             timestamptz NOT NULL DEFAULT now(),
  date_reception         date NOT NULL DEFAULT CURRENT_DATE,
  note                   text,
  CONSTRAINT receptions_indexes_check CHECK (index_apres > index_avant),
  CONSTRAINT receptions_partenaire_required_check CHECK (proprietaire_type <> 'PARTENAIRE' OR partenaire_id IS NOT NULL),
  CONSTRAINT receptions_validee_volume_check CHECK (statut <> 'validee' OR volume_ambiant IS NOT NULL)
);
CREATE INDEX receptions_cdr_idx ON public.receptions (cours_de_route_id) WHERE cours_de_route_id IS NOT NULL;
CREATE INDEX receptions_citerne_idx ON public.receptions (citerne_id, produit_id, proprietaire_type);
CREATE INDEX receptions_date_idx ON public.receptions (date_reception);

-- Sorties: product leaving a tank for a client (MONALUXE) or a partner (PARTENAIRE).
CREATE TABLE public.sorties_produit (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  citerne_id             uuid NOT NULL REFERENCES public.citernes (id),
  produit_id             uuid NOT NULL REFERENCES public.produits (id),
  client_id              uuid REFERENCES public.clients (id),
  partenaire_id          uuid REFERENCES public.partenaires (id),
  index_avant            double precision,
  index_apres            double precision,
  volume_ambiant         double precision,
  volume_corrige_15c     double precision,          -- legacy 15 degC column
  volume_15c             double precision,          -- canonical 15 degC column (later addition)
  temperature_ambiante_c double precision,
  densite_a_15           double precision,
  densite_a_15_kgm3      double precision,          -- observed-density input of the ASTM computation
  proprietaire_type      text NOT NULL DEFAULT 'MONALUXE'
                         CONSTRAINT sorties_produit_proprietaire_type_check CHECK (proprietaire_type IN ('MONALUXE', 'PARTENAIRE')),
  statut                 text NOT NULL DEFAULT 'validee'
                         CONSTRAINT sorties_produit_statut_check CHECK (statut IN ('brouillon', 'validee', 'rejetee')),
  date_sortie            timestamptz NOT NULL DEFAULT now(),
  chauffeur_nom          text,
  plaque_camion          text,
  plaque_remorque        text,
  transporteur           text,
  created_by             uuid,
  validated_by           uuid,
  created_at             timestamptz NOT NULL DEFAULT now(),
  note                   text,
  CONSTRAINT sorties_produit_beneficiaire_check CHECK (client_id IS NOT NULL OR partenaire_id IS NOT NULL)
);
CREATE INDEX sorties_produit_citerne_idx ON public.sorties_produit (citerne_id, produit_id, proprietaire_type);
CREATE INDEX sorties_produit_date_idx ON public.sorties_produit (date_sortie);

-- Running balance per (tank, product, owner), maintained by
-- stock_snapshot_apply_delta only.
CREATE TABLE public.stocks_snapshot (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  citerne_id        uuid NOT NULL REFERENCES public.citernes (id),
  produit_id        uuid NOT NULL REFERENCES public.produits (id),
  proprietaire_type text NOT NULL
                    CONSTRAINT stocks_snapshot_proprietaire_type_check CHECK (proprietaire_type IN ('MONALUXE', 'PARTENAIRE')),
  depot_id          uuid REFERENCES public.depots (id),
  stock_ambiant     double precision NOT NULL DEFAULT 0 CONSTRAINT stocks_snapshot_stock_ambiant_check CHECK (stock_ambiant >= 0),
  stock_15c         double precision NOT NULL DEFAULT 0 CONSTRAINT stocks_snapshot_stock_15c_check CHECK (stock_15c >= 0),
  last_movement_at  timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stocks_snapshot_key UNIQUE (citerne_id, produit_id, proprietaire_type)
);

-- Cumulative daily balance per (date, tank, product, owner). Written only by
-- the movement triggers and rebuild_stocks_journaliers (see 0005).
CREATE TABLE public.stocks_journaliers (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  citerne_id        uuid NOT NULL REFERENCES public.citernes (id),
  produit_id        uuid NOT NULL REFERENCES public.produits (id),
  date_jour         date NOT NULL,
  stock_ambiant     double precision NOT NULL,
  stock_15c         double precision NOT NULL,
  proprietaire_type text NOT NULL DEFAULT 'MONALUXE',
  depot_id          uuid REFERENCES public.depots (id),
  source            text NOT NULL DEFAULT 'SYSTEM',  -- RECEPTION / SORTIE (triggers), SYSTEM (rebuild)
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stocks_journaliers_key UNIQUE (citerne_id, produit_id, date_jour, proprietaire_type)
);
CREATE INDEX stocks_journaliers_owner_date_idx
  ON public.stocks_journaliers (citerne_id, produit_id, proprietaire_type, date_jour);
CREATE INDEX stocks_journaliers_date_idx ON public.stocks_journaliers (date_jour);

-- Insert-only stock corrections referencing one reception or sortie.
CREATE TABLE public.stocks_adjustments (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  mouvement_type    text NOT NULL CONSTRAINT stocks_adjustments_mouvement_type_check CHECK (mouvement_type IN ('RECEPTION', 'SORTIE')),
  mouvement_id      uuid NOT NULL,
  delta_ambiant     double precision NOT NULL,
  delta_15c         double precision NOT NULL DEFAULT 0,
  reason            text NOT NULL CONSTRAINT stocks_adjustments_reason_check CHECK (length(btrim(reason)) >= 10),
  created_by        uuid NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  depot_id          uuid REFERENCES public.depots (id),
  citerne_id        uuid REFERENCES public.citernes (id),
  produit_id        uuid REFERENCES public.produits (id),
  proprietaire_type text CONSTRAINT stocks_adjustments_proprietaire_type_check CHECK (proprietaire_type IN ('MONALUXE', 'PARTENAIRE')),
  CONSTRAINT stocks_adjustments_dedup_key UNIQUE (mouvement_type, mouvement_id, delta_ambiant, delta_15c, reason)
);
CREATE INDEX stocks_adjustments_key_idx ON public.stocks_adjustments (citerne_id, produit_id, proprietaire_type);
CREATE INDEX stocks_adjustments_mouvement_idx ON public.stocks_adjustments (mouvement_id);

-- Audit journal. `logs` is its projection.
CREATE TABLE public.log_actions (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    uuid,
  action     text NOT NULL,
  module     text,
  niveau     text NOT NULL DEFAULT 'INFO' CONSTRAINT log_actions_niveau_check CHECK (niveau IN ('INFO', 'WARNING', 'CRITICAL')),
  details    jsonb,
  cible_id   uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX log_actions_created_at_idx ON public.log_actions (created_at);
CREATE INDEX log_actions_action_idx ON public.log_actions (action);

CREATE VIEW public.logs WITH (security_invoker = true) AS
  SELECT id, created_at, module, action, niveau, user_id, details, cible_id
  FROM public.log_actions;

-- App profiles. profils.id is its own uuid; the link to the Supabase user is user_id.
-- Deliberate choice: ML_PP's SNAP CHECK allows admin, directeur, gerant,
-- lecture, pca only, while its PRD and RLS policies use 'operateur'. We allow
-- 'operateur' too so the S2 model can be exercised end to end.
CREATE TABLE public.profils (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid UNIQUE REFERENCES auth.users (id) ON DELETE CASCADE,
  nom_complet text,
  role        text NOT NULL DEFAULT 'lecture'
              CONSTRAINT profils_role_check CHECK (role IN ('admin', 'directeur', 'gerant', 'lecture', 'pca', 'operateur')),
  depot_id    uuid REFERENCES public.depots (id),
  email       text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Manual dips. Exists in ML_PP but is not wired into stock.
CREATE TABLE public.prises_de_hauteur (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  citerne_id    uuid NOT NULL REFERENCES public.citernes (id),
  volume_mesure double precision NOT NULL CONSTRAINT prises_de_hauteur_volume_mesure_check CHECK (volume_mesure >= 0),
  note          text,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Integrity alerts (Phase 2). One row per (check_code, entity_type, entity_id).
CREATE TABLE public.system_alerts (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  check_code        text NOT NULL,
  severity          text NOT NULL CONSTRAINT system_alerts_severity_check CHECK (severity IN ('CRITICAL', 'WARN')),
  entity_type       text NOT NULL,
  entity_id         uuid NOT NULL,
  message           text NOT NULL,
  payload           jsonb NOT NULL DEFAULT '{}'::jsonb,
  status            text NOT NULL DEFAULT 'OPEN' CONSTRAINT system_alerts_status_check CHECK (status IN ('OPEN', 'ACK', 'RESOLVED')),
  first_detected_at timestamptz NOT NULL DEFAULT now(),
  last_detected_at  timestamptz NOT NULL DEFAULT now(),
  acknowledged_by   uuid,
  acknowledged_at   timestamptz,
  resolved_by       uuid,
  resolved_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT system_alerts_check_entity_key UNIQUE (check_code, entity_type, entity_id)
);
CREATE INDEX system_alerts_status_idx ON public.system_alerts (status, severity);
