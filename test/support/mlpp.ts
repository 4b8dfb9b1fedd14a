import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** Ids of a fresh tank of its own (isolation) in the seeded reference depot. */
export interface Fixture {
  depotId: string;
  produitId: string;
  citerneId: string;
  citerneNom: string;
  clientId: string;
  fournisseurId: string;
  partenaireId: string;
}

export async function fixture(c: pg.ClientBase, opts: { capacity?: number; produitCode?: string } = {}): Promise<Fixture> {
  const ref = await c.query<{ depot_id: string; produit_id: string; client_id: string; fournisseur_id: string; partenaire_id: string }>(
    `select (select id from public.depots order by created_at, id limit 1) as depot_id,
            (select id from public.produits where code = $1) as produit_id,
            (select id from public.clients order by id limit 1) as client_id,
            (select id from public.fournisseurs order by id limit 1) as fournisseur_id,
            (select id from public.partenaires order by id limit 1) as partenaire_id`,
    [opts.produitCode ?? 'G.O'],
  );
  const r = ref.rows[0];
  if (!r?.depot_id || !r.produit_id || !r.client_id || !r.fournisseur_id) throw new Error('données de référence absentes (seedReference)');
  const nom = `TEST-${randomUUID().slice(0, 8)}`;
  const t = await c.query<{ id: string }>(
    'insert into public.citernes (depot_id, nom, produit_id, capacite_totale, capacite_securite) values ($1, $2, $3, $4, 0) returning id',
    [r.depot_id, nom, r.produit_id, opts.capacity ?? 500_000],
  );
  return {
    depotId: r.depot_id,
    produitId: r.produit_id,
    citerneId: t.rows[0]!.id,
    citerneNom: nom,
    clientId: r.client_id,
    fournisseurId: r.fournisseur_id,
    partenaireId: r.partenaire_id,
  };
}

/** A validated MONALUXE reception as the app inserts it (no statut: the default applies). */
export async function insertReception(c: pg.ClientBase, f: Fixture, o: { volume: number; rows?: number; temperature?: number }): Promise<string> {
  const n = o.rows ?? 1;
  const values: string[] = [];
  const params: unknown[] = [f.citerneId, f.produitId, o.volume, o.temperature ?? 25];
  for (let i = 0; i < n; i++) values.push('($1, $2, 0, $3, $4, 835, \'MONALUXE\')');
  const { rows } = await c.query<{ id: string }>(
    `insert into public.receptions (citerne_id, produit_id, index_avant, index_apres, temperature_ambiante_c, densite_a_15, proprietaire_type)
     values ${values.join(', ')} returning id`,
    params,
  );
  return rows[0]!.id;
}

/** A validated MONALUXE sortie to a client, as the app inserts it. */
export async function insertSortie(c: pg.ClientBase, f: Fixture, o: { volume: number; temperature?: number }): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `insert into public.sorties_produit (citerne_id, produit_id, client_id, index_avant, index_apres, temperature_ambiante_c,
                                         densite_a_15_kgm3, proprietaire_type, statut)
     values ($1, $2, $3, 0, $4, $5, 835, 'MONALUXE', 'validee') returning id`,
    [f.citerneId, f.produitId, f.clientId, o.volume, o.temperature ?? 25],
  );
  return rows[0]!.id;
}
