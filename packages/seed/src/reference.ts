import type { ClientBase } from 'pg';

/**
 * Reference data of the ML_PP stand-in (DOMAIN.md section 0): one depot,
 * two products, six physical tanks plus the logical "SEP CONGO" tank,
 * clients, suppliers, partners, supplier lots, and one Supabase user with
 * its profile per application role. Every id is stable.
 */

export const DEPOT_ID = '11111111-1111-1111-1111-111111111111';
export const PRODUIT_GO_ID = '22222222-2222-2222-2222-222222222222';
export const PRODUIT_ESS_ID = '640cf7ec-1b4a-4b7e-9c52-3e2f6d1a0b55';

export const CITERNE_IDS = {
  TANK1: '33333333-3333-4333-8333-000000000001',
  TANK2: '33333333-3333-4333-8333-000000000002',
  TANK3: '33333333-3333-4333-8333-000000000003',
  TANK4: '33333333-3333-4333-8333-000000000004',
  TANK5: '33333333-3333-4333-8333-000000000005',
  TANK6: '33333333-3333-4333-8333-000000000006',
  SEP_CONGO: '33333333-3333-4333-8333-000000000007',
} as const;

export type ProfileRole = 'admin' | 'directeur' | 'gerant' | 'operateur' | 'pca' | 'lecture';

export interface SeedUser {
  role: ProfileRole;
  /** auth.users.id (= profils.user_id, the JWT `sub`). */
  userId: string;
  /** profils.id, a separate uuid. */
  profilId: string;
  email: string;
  nomComplet: string;
}

export const USERS: Readonly<Record<ProfileRole, SeedUser>> = {
  admin: {
    role: 'admin',
    userId: '77777777-7777-4777-8777-000000000001',
    profilId: '88888888-8888-4888-8888-000000000001',
    email: 'admin@monaluxe.test',
    nomComplet: 'Patrick Mukendi',
  },
  directeur: {
    role: 'directeur',
    userId: '77777777-7777-4777-8777-000000000002',
    profilId: '88888888-8888-4888-8888-000000000002',
    email: 'directeur@monaluxe.test',
    nomComplet: 'Sylvie Kabongo',
  },
  gerant: {
    role: 'gerant',
    userId: '77777777-7777-4777-8777-000000000003',
    profilId: '88888888-8888-4888-8888-000000000003',
    email: 'gerant@monaluxe.test',
    nomComplet: 'Jean-Marc Ilunga',
  },
  operateur: {
    role: 'operateur',
    userId: '77777777-7777-4777-8777-000000000004',
    profilId: '88888888-8888-4888-8888-000000000004',
    email: 'operateur@monaluxe.test',
    nomComplet: 'Aimé Tshibangu',
  },
  pca: {
    role: 'pca',
    userId: '77777777-7777-4777-8777-000000000005',
    profilId: '88888888-8888-4888-8888-000000000005',
    email: 'pca@monaluxe.test',
    nomComplet: 'Bernadette Mwamba',
  },
  lecture: {
    role: 'lecture',
    userId: '77777777-7777-4777-8777-000000000006',
    profilId: '88888888-8888-4888-8888-000000000006',
    email: 'lecture@monaluxe.test',
    nomComplet: 'Olivier Kasongo',
  },
};

export interface SeedCiterne {
  id: string;
  nom: string;
  produitId: string;
  capaciteTotale: number;
  localisation: string;
}

export const CITERNES: readonly SeedCiterne[] = [
  { id: CITERNE_IDS.TANK1, nom: 'TANK1', produitId: PRODUIT_GO_ID, capaciteTotale: 500_000, localisation: 'Parc A' },
  { id: CITERNE_IDS.TANK2, nom: 'TANK2', produitId: PRODUIT_GO_ID, capaciteTotale: 500_000, localisation: 'Parc A' },
  { id: CITERNE_IDS.TANK3, nom: 'TANK3', produitId: PRODUIT_GO_ID, capaciteTotale: 500_000, localisation: 'Parc A' },
  { id: CITERNE_IDS.TANK4, nom: 'TANK4', produitId: PRODUIT_GO_ID, capaciteTotale: 500_000, localisation: 'Parc B' },
  { id: CITERNE_IDS.TANK5, nom: 'TANK5', produitId: PRODUIT_ESS_ID, capaciteTotale: 300_000, localisation: 'Parc B' },
  { id: CITERNE_IDS.TANK6, nom: 'TANK6', produitId: PRODUIT_ESS_ID, capaciteTotale: 300_000, localisation: 'Parc B' },
  {
    id: CITERNE_IDS.SEP_CONGO,
    nom: 'SEP CONGO',
    produitId: PRODUIT_GO_ID,
    capaciteTotale: 1_000_000,
    localisation: 'Dépôt ami SEP Congo (stock Monaluxe externe, citerne logique)',
  },
];

export const CLIENTS = [
  { id: '44444444-4444-4444-8444-000000000001', nom: 'Kamoto Mining Services SARL', adresse: 'Kolwezi', pays: 'RDC', weight: 5 },
  { id: '44444444-4444-4444-8444-000000000002', nom: 'Station Lido Lubumbashi', adresse: 'Avenue Lumumba, Lubumbashi', pays: 'RDC', weight: 3 },
  { id: '44444444-4444-4444-8444-000000000003', nom: 'Transports Mwenda & Fils', adresse: 'Route Likasi, Lubumbashi', pays: 'RDC', weight: 3 },
  { id: '44444444-4444-4444-8444-000000000004', nom: 'Kipushi Minerals SA', adresse: 'Kipushi', pays: 'RDC', weight: 2 },
  { id: '44444444-4444-4444-8444-000000000005', nom: 'Likasi Logistique SARL', adresse: 'Likasi', pays: 'RDC', weight: 2 },
  { id: '44444444-4444-4444-8444-000000000006', nom: 'Congo Équipements Miniers', adresse: 'Lubumbashi', pays: 'RDC', weight: 1 },
] as const;

export const FOURNISSEURS = [
  { id: '55555555-5555-4555-8555-000000000001', nom: 'Dar Petroleum Trading Ltd', pays: 'Tanzanie', adresse: 'Kurasini, Dar es Salaam', weight: 5 },
  { id: '55555555-5555-4555-8555-000000000002', nom: 'Ndola Oil Supply Ltd', pays: 'Zambie', adresse: 'Ndola', weight: 3 },
  { id: '55555555-5555-4555-8555-000000000003', nom: 'Beira Fuel Terminal Lda', pays: 'Mozambique', adresse: 'Beira', weight: 1 },
] as const;

export const PARTENAIRES = [
  { id: '66666666-6666-4666-8666-000000000001', nom: 'Kivu Énergie SARL', weight: 3 },
  { id: '66666666-6666-4666-8666-000000000002', nom: 'Luano Fuel Partners', weight: 2 },
  { id: '66666666-6666-4666-8666-000000000003', nom: 'Katanga Petroleum Services', weight: 1 },
] as const;

/** One open lot per (supplier, product). */
export const LOTS = FOURNISSEURS.flatMap((f, i) =>
  [PRODUIT_GO_ID, PRODUIT_ESS_ID].map((produitId, j) => ({
    id: `99999999-9999-4999-8999-0000000000${String(i * 2 + j + 1).padStart(2, '0')}`,
    fournisseurId: f.id,
    produitId,
    reference: `LOT-${f.pays.slice(0, 3).toUpperCase()}-${j === 0 ? 'GO' : 'ESS'}-2026-01`,
  })),
);

/** Inserts the reference data. Idempotent: existing rows (same id) are left untouched. */
export async function seedReference(client: ClientBase): Promise<void> {
  await client.query(
    `INSERT INTO public.depots (id, nom, adresse) VALUES ($1, 'Dépôt Daipn', 'Route Kipushi, Lubumbashi (DAIPN LSHI)')
     ON CONFLICT (id) DO NOTHING`,
    [DEPOT_ID],
  );
  await client.query(
    `INSERT INTO public.produits (id, nom, code, description) VALUES
       ($1, 'Gasoil/AGO', 'G.O', 'Gasoil (Automotive Gas Oil)'),
       ($2, 'Essence', 'ESS', 'Essence sans plomb')
     ON CONFLICT (id) DO NOTHING`,
    [PRODUIT_GO_ID, PRODUIT_ESS_ID],
  );
  for (const c of CITERNES) {
    await client.query(
      `INSERT INTO public.citernes (id, depot_id, nom, produit_id, capacite_totale, capacite_securite, localisation, statut)
       VALUES ($1, $2, $3, $4, $5, 0, $6, 'active')
       ON CONFLICT (id) DO NOTHING`,
      [c.id, DEPOT_ID, c.nom, c.produitId, c.capaciteTotale, c.localisation],
    );
  }
  for (const c of CLIENTS) {
    await client.query(
      `INSERT INTO public.clients (id, nom, adresse, pays) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
      [c.id, c.nom, c.adresse, c.pays],
    );
  }
  for (const f of FOURNISSEURS) {
    await client.query(
      `INSERT INTO public.fournisseurs (id, nom, pays, adresse) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
      [f.id, f.nom, f.pays, f.adresse],
    );
  }
  for (const p of PARTENAIRES) {
    await client.query(`INSERT INTO public.partenaires (id, nom) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [p.id, p.nom]);
  }
  for (const l of LOTS) {
    await client.query(
      `INSERT INTO public.fournisseur_lot (id, fournisseur_id, produit_id, reference, statut, date_lot)
       VALUES ($1, $2, $3, $4, 'ouvert', DATE '2026-01-01')
       ON CONFLICT (id) DO NOTHING`,
      [l.id, l.fournisseurId, l.produitId, l.reference],
    );
  }
  for (const u of Object.values(USERS)) {
    await client.query(
      `INSERT INTO auth.users (id, email, role, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
       VALUES ($1, $2, 'authenticated', '{"provider":"email","providers":["email"]}'::jsonb,
               jsonb_build_object('nom_complet', $3::text), TIMESTAMPTZ '2026-01-05 08:00:00+02', TIMESTAMPTZ '2026-01-05 08:00:00+02')
       ON CONFLICT (id) DO NOTHING`,
      [u.userId, u.email, u.nomComplet],
    );
    await client.query(
      `INSERT INTO public.profils (id, user_id, nom_complet, role, depot_id, email, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, TIMESTAMPTZ '2026-01-05 08:00:00+02')
       ON CONFLICT DO NOTHING`,
      [u.profilId, u.userId, u.nomComplet, u.role, DEPOT_ID, u.email],
    );
  }
}
