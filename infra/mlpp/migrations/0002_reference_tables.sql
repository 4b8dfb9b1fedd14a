-- 0002_reference_tables.sql
-- ML_PP reference data: depots, products, clients, suppliers, partners, and
-- the supplier lots (fournisseur_lot, April 2026) that CDRs may link to.

CREATE TABLE public.depots (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  nom        text NOT NULL,
  adresse    text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.produits (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  nom         text NOT NULL,
  code        text NOT NULL UNIQUE,          -- e.g. 'G.O' (gasoil/AGO), 'ESS' (essence)
  description text,
  actif       boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.clients (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  nom              text NOT NULL,
  adresse          text,
  pays             text,
  contact_personne text,
  email            text,
  telephone        text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.fournisseurs (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  nom                 text NOT NULL,
  contact_personne    text,
  email               text,
  telephone           text,
  adresse             text,
  pays                text,
  note_supplementaire text,
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.partenaires (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  nom        text NOT NULL,
  contact    text,
  email      text,
  telephone  text,
  adresse    text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Supplier manifest (lot). Its statut runs ouvert -> cloture -> facture.
CREATE TABLE public.fournisseur_lot (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  fournisseur_id uuid NOT NULL REFERENCES public.fournisseurs (id),
  produit_id     uuid NOT NULL REFERENCES public.produits (id),
  reference      text NOT NULL,
  statut         text NOT NULL DEFAULT 'ouvert'
                 CONSTRAINT fournisseur_lot_statut_check CHECK (statut IN ('ouvert', 'cloture', 'facture')),
  date_lot       date NOT NULL DEFAULT CURRENT_DATE,
  note           text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fournisseur_lot_fournisseur_idx ON public.fournisseur_lot (fournisseur_id);
