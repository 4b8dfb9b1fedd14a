import type { ClientBase } from 'pg';

/**
 * Single-row operations written the way ML_PP's app writes them (plain
 * INSERT / UPDATE; the triggers do the rest). Used by the anomaly injector
 * and the scripted sequence; the bulk generator batches the same statements.
 */

export type Owner = 'MONALUXE' | 'PARTENAIRE';
export type CdrStatut = 'CHARGEMENT' | 'TRANSIT' | 'FRONTIERE' | 'ARRIVE' | 'DECHARGE';

export interface CdrInput {
  id?: string;
  fournisseurId: string;
  depotId: string;
  produitId: string;
  plaqueCamion: string;
  plaqueRemorque?: string | null;
  chauffeurNom?: string | null;
  transporteur?: string | null;
  departPays?: string | null;
  volume: number;
  fournisseurLotId?: string | null;
  note?: string | null;
  createdAt?: Date;
}

export async function createCdr(client: ClientBase, input: CdrInput): Promise<string> {
  const res = await client.query<{ id: string }>(
    `INSERT INTO public.cours_de_route
       (id, fournisseur_id, depot_destination_id, produit_id, plaque_camion, plaque_remorque, chauffeur_nom,
        transporteur, depart_pays, date_chargement, volume, fournisseur_lot_id, note, created_at)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9,
             coalesce($10::timestamptz, now())::date, $11, $12, $13, coalesce($10::timestamptz, now()))
     RETURNING id`,
    [
      input.id ?? null,
      input.fournisseurId,
      input.depotId,
      input.produitId,
      input.plaqueCamion,
      input.plaqueRemorque ?? null,
      input.chauffeurNom ?? null,
      input.transporteur ?? null,
      input.departPays ?? null,
      input.createdAt?.toISOString() ?? null,
      input.volume,
      input.fournisseurLotId ?? null,
      input.note ?? null,
    ],
  );
  return res.rows[0]!.id;
}

/** Plain status UPDATE, as the app does (no log, no timestamp). */
export async function setCdrStatut(client: ClientBase, id: string, statut: CdrStatut): Promise<number> {
  const res = await client.query(`UPDATE public.cours_de_route SET statut = $2 WHERE id = $1`, [id, statut]);
  return res.rowCount ?? 0;
}

/** Walks a CHARGEMENT CDR to ARRIVE (TRANSIT, FRONTIERE, ARRIVE). */
export async function walkCdrToArrive(client: ClientBase, id: string): Promise<void> {
  for (const s of ['TRANSIT', 'FRONTIERE', 'ARRIVE'] as const) await setCdrStatut(client, id, s);
}

export interface ReceptionInput {
  id?: string;
  cdrId?: string | null;
  citerneId: string;
  produitId: string;
  owner: Owner;
  partenaireId?: string | null;
  indexAvant: number;
  indexApres: number;
  temperatureC?: number | null;
  /** Observed density, kg/m3 (stored in densite_a_15, as ML_PP does). */
  densityKgM3?: number | null;
  /** Legacy client-computed 15 degC volume; kept only when temperature and density are absent. */
  volume15c?: number | null;
  createdBy?: string | null;
  createdAt?: Date;
  note?: string | null;
}

export interface ReceptionRow {
  id: string;
  volume_ambiant: number;
  volume_15c: number | null;
  date_reception: string;
}

export async function insertReception(client: ClientBase, r: ReceptionInput): Promise<ReceptionRow> {
  const res = await client.query<ReceptionRow>(
    `INSERT INTO public.receptions
       (id, cours_de_route_id, citerne_id, produit_id, partenaire_id, proprietaire_type, index_avant, index_apres,
        temperature_ambiante_c, densite_a_15, volume_15c, created_by, created_at, date_reception, note)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
             coalesce($13::timestamptz, now()), coalesce($13::timestamptz, now())::date, $14)
     RETURNING id, volume_ambiant, volume_15c, date_reception::text AS date_reception`,
    [
      r.id ?? null,
      r.cdrId ?? null,
      r.citerneId,
      r.produitId,
      r.partenaireId ?? null,
      r.owner,
      r.indexAvant,
      r.indexApres,
      r.temperatureC ?? null,
      r.densityKgM3 ?? null,
      r.volume15c ?? null,
      r.createdBy ?? null,
      r.createdAt?.toISOString() ?? null,
      r.note ?? null,
    ],
  );
  return res.rows[0]!;
}

export interface SortieInput {
  id?: string;
  citerneId: string;
  produitId: string;
  clientId?: string | null;
  partenaireId?: string | null;
  /** Sent as the app sends it; the trigger re-derives it from the beneficiary. */
  owner?: Owner;
  indexAvant: number;
  indexApres: number;
  temperatureC?: number | null;
  /** Observed density, kg/m3 (densite_a_15_kgm3). */
  densityKgM3?: number | null;
  /** Legacy client-computed values; kept only when temperature and density are absent. */
  volume15c?: number | null;
  volumeCorrige15c?: number | null;
  statut?: 'validee' | 'brouillon' | 'rejetee';
  dateSortie?: Date;
  createdAt?: Date;
  createdBy?: string | null;
  chauffeurNom?: string | null;
  plaqueCamion?: string | null;
  plaqueRemorque?: string | null;
  transporteur?: string | null;
  note?: string | null;
}

export interface SortieRow {
  id: string;
  volume_ambiant: number;
  volume_15c: number | null;
  volume_corrige_15c: number | null;
  proprietaire_type: Owner;
}

export async function insertSortie(client: ClientBase, s: SortieInput): Promise<SortieRow> {
  const res = await client.query<SortieRow>(
    `INSERT INTO public.sorties_produit
       (id, citerne_id, produit_id, client_id, partenaire_id, proprietaire_type, index_avant, index_apres,
        temperature_ambiante_c, densite_a_15_kgm3, volume_15c, volume_corrige_15c, statut, date_sortie,
        created_at, created_by, chauffeur_nom, plaque_camion, plaque_remorque, transporteur, note)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
             coalesce($14::timestamptz, now()), coalesce($15::timestamptz, now()), $16, $17, $18, $19, $20, $21)
     RETURNING id, volume_ambiant, volume_15c, volume_corrige_15c, proprietaire_type`,
    [
      s.id ?? null,
      s.citerneId,
      s.produitId,
      s.clientId ?? null,
      s.partenaireId ?? null,
      s.owner ?? (s.partenaireId && !s.clientId ? 'PARTENAIRE' : 'MONALUXE'),
      s.indexAvant,
      s.indexApres,
      s.temperatureC ?? null,
      s.densityKgM3 ?? null,
      s.volume15c ?? null,
      s.volumeCorrige15c ?? null,
      s.statut ?? 'validee',
      (s.dateSortie ?? s.createdAt)?.toISOString() ?? null,
      (s.createdAt ?? s.dateSortie)?.toISOString() ?? null,
      s.createdBy ?? null,
      s.chauffeurNom ?? null,
      s.plaqueCamion ?? null,
      s.plaqueRemorque ?? null,
      s.transporteur ?? null,
      s.note ?? null,
    ],
  );
  return res.rows[0]!;
}

export interface AdjustmentInput {
  id?: string;
  mouvementType: 'RECEPTION' | 'SORTIE';
  mouvementId: string;
  deltaAmbiant: number;
  delta15c: number;
  /** At least 10 characters; the UI prefixes it with [VOLUME], [TEMP], [DENSITE] or [MIXTE]. */
  reason: string;
  createdBy: string;
  createdAt?: Date;
  /** Optional context; the trigger forces it from the movement and raises CONTEXT_MISMATCH when different. */
  citerneId?: string | null;
}

export async function insertAdjustment(client: ClientBase, a: AdjustmentInput): Promise<string> {
  const res = await client.query<{ id: string }>(
    `INSERT INTO public.stocks_adjustments
       (id, mouvement_type, mouvement_id, delta_ambiant, delta_15c, reason, created_by, created_at, citerne_id)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, coalesce($8::timestamptz, now()), $9)
     RETURNING id`,
    [
      a.id ?? null,
      a.mouvementType,
      a.mouvementId,
      a.deltaAmbiant,
      a.delta15c,
      a.reason,
      a.createdBy,
      a.createdAt?.toISOString() ?? null,
      a.citerneId ?? null,
    ],
  );
  return res.rows[0]!.id;
}

/** Runs fn inside BEGIN/COMMIT (ROLLBACK on error). The client must not already be in a transaction. */
export async function inTransaction<T>(client: ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
