import type { ClientBase } from 'pg';
import {
  createCdr,
  insertAdjustment,
  insertReception,
  insertSortie,
  type ReceptionInput,
  type SortieInput,
  setCdrStatut,
} from './ops.js';
import {
  CITERNE_IDS,
  CLIENTS,
  DEPOT_ID,
  FOURNISSEURS,
  PARTENAIRES,
  PRODUIT_ESS_ID,
  PRODUIT_GO_ID,
  type ProfileRole,
  seedReference,
  USERS,
} from './reference.js';

/**
 * A scripted GO PROD sequence: the operations a depot team performs in the
 * app (CDR moves, receptions, sorties, an admin adjustment), including the
 * ones ML_PP's database rejects. Every step runs in its own transaction as
 * the app's request would: `SET LOCAL ROLE authenticated` with the user's
 * JWT claims in `request.jwt.claims` (so RLS and auth.uid() apply), or as
 * service_role for back-office statements.
 *
 * Ids and timestamps are fixed, so two databases that ran the sequence can
 * be compared row by row (stocks, journal, logs) together with the returned
 * outcomes. Run it on a freshly seeded reference database (seedReference()
 * only, no generated operations); it calls seedReference() itself. The
 * connected role must be able to SET ROLE authenticated / service_role
 * (a superuser can).
 */

export interface ScenarioOutcome {
  /** Stable step name. */
  step: string;
  actor: ProfileRole | 'service_role';
  ok: boolean;
  /** Id of the row the step created, when it created one. */
  id?: string;
  /** Rows affected by an UPDATE/DELETE step. */
  rowCount?: number;
  /** On failure: ML_PP's error code (message prefix), else the constraint name, else 'RLS_VIOLATION' or the SQLSTATE. */
  code?: string;
  sqlstate?: string;
  message?: string;
}

/** Day the sequence happens on (depot time, UTC+2). */
export const SCENARIO_BASE_DATE = '2026-02-10';

const at = (day: number, hhmm: string): Date => {
  const base = Date.parse(`${SCENARIO_BASE_DATE}T${hhmm}:00+02:00`);
  return new Date(base + day * 86_400_000);
};

/** Fixed ids of the rows the sequence creates. */
export const SCENARIO_IDS = {
  cdr1: '5c000000-0000-4000-8000-000000000001',
  cdr2: '5c000000-0000-4000-8000-000000000002',
  cdr3: '5c000000-0000-4000-8000-000000000003',
  receptionCdr1: '5c000000-0000-4000-8000-000000000101',
  receptionPartenaire: '5c000000-0000-4000-8000-000000000102',
  receptionCdr2: '5c000000-0000-4000-8000-000000000103',
  sortieClient: '5c000000-0000-4000-8000-000000000201',
  sortiePartenaire: '5c000000-0000-4000-8000-000000000202',
  sortieBrouillon: '5c000000-0000-4000-8000-000000000203',
  sortieTank3: '5c000000-0000-4000-8000-000000000204',
  adjustment: '5c000000-0000-4000-8000-000000000301',
  rejected: '5c000000-0000-4000-8000-0000000009ff',
} as const;

const TRUCK = 'T 401 DKA';
const TANK1 = CITERNE_IDS.TANK1;
const TANK2 = CITERNE_IDS.TANK2;
const TANK3 = CITERNE_IDS.TANK3;
const TANK5 = CITERNE_IDS.TANK5;
const CLIENT = CLIENTS[0].id;
const PARTNER = PARTENAIRES[0].id;

type Actor = ProfileRole | 'service_role';

interface Step {
  step: string;
  actor: Actor;
  run: (c: ClientBase) => Promise<{ id?: string; rowCount?: number }>;
}

const cdr = (id: string, day: number, volume: number) => ({
  id,
  fournisseurId: FOURNISSEURS[0].id,
  depotId: DEPOT_ID,
  produitId: PRODUIT_GO_ID,
  plaqueCamion: TRUCK,
  plaqueRemorque: 'T 402 DKA',
  chauffeurNom: 'Juma Mrema',
  transporteur: 'Tanganyika Freight Co.',
  departPays: 'Tanzanie',
  volume,
  createdAt: at(day, '07:30'),
});

const reception = (over: Partial<ReceptionInput> & Pick<ReceptionInput, 'indexAvant' | 'indexApres'>): ReceptionInput => ({
  id: SCENARIO_IDS.rejected,
  cdrId: SCENARIO_IDS.cdr1,
  citerneId: TANK1,
  produitId: PRODUIT_GO_ID,
  owner: 'MONALUXE',
  temperatureC: 24.6,
  densityKgM3: 837.5,
  createdAt: at(0, '09:15'),
  ...over,
});

const sortie = (over: Partial<SortieInput> & Pick<SortieInput, 'indexAvant' | 'indexApres'>): SortieInput => ({
  id: SCENARIO_IDS.rejected,
  citerneId: TANK1,
  produitId: PRODUIT_GO_ID,
  clientId: CLIENT,
  temperatureC: 27.8,
  densityKgM3: 838.2,
  statut: 'validee',
  dateSortie: at(0, '14:00'),
  chauffeurNom: 'Fiston Banza',
  plaqueCamion: '4521BC05',
  transporteur: 'Transport propre client',
  ...over,
});

const created = async (p: Promise<{ id: string } | string>): Promise<{ id: string }> => {
  const r = await p;
  return { id: typeof r === 'string' ? r : r.id };
};

const update = async (c: ClientBase, sql: string, values: unknown[]): Promise<{ rowCount: number }> => ({
  rowCount: (await c.query(sql, values)).rowCount ?? 0,
});

const STEPS: readonly Step[] = [
  { step: 'cdr1_create', actor: 'gerant', run: (c) => created(createCdr(c, cdr(SCENARIO_IDS.cdr1, -4, 40_000))) },
  {
    step: 'cdr1_reception_refused_while_chargement',
    actor: 'gerant',
    run: (c) => created(insertReception(c, reception({ indexAvant: 120_000, indexApres: 159_880 }))),
  },
  { step: 'cdr1_transit', actor: 'gerant', run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr1, 'TRANSIT').then((n) => ({ rowCount: n })) },
  { step: 'cdr1_frontiere', actor: 'gerant', run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr1, 'FRONTIERE').then((n) => ({ rowCount: n })) },
  { step: 'cdr1_arrive', actor: 'gerant', run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr1, 'ARRIVE').then((n) => ({ rowCount: n })) },
  {
    step: 'cdr1_manual_decharge_refused',
    actor: 'gerant',
    run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr1, 'DECHARGE').then((n) => ({ rowCount: n })),
  },
  {
    step: 'reception_refused_tank_of_other_product',
    actor: 'gerant',
    run: (c) => created(insertReception(c, reception({ citerneId: TANK5, indexAvant: 120_000, indexApres: 159_880 }))),
  },
  {
    step: 'reception_refused_product_differs_from_cdr',
    actor: 'gerant',
    run: (c) =>
      created(
        insertReception(c, reception({ citerneId: TANK5, produitId: PRODUIT_ESS_ID, indexAvant: 120_000, indexApres: 159_880 })),
      ),
  },
  {
    step: 'reception_refused_astm_out_of_domain',
    actor: 'gerant',
    run: (c) => created(insertReception(c, reception({ temperatureC: 44, indexAvant: 120_000, indexApres: 159_880 }))),
  },
  {
    step: 'cdr1_reception',
    actor: 'gerant',
    run: (c) =>
      created(insertReception(c, reception({ id: SCENARIO_IDS.receptionCdr1, indexAvant: 120_000, indexApres: 159_880 }))),
  },
  {
    step: 'cdr1_second_reception_refused',
    actor: 'gerant',
    run: (c) => created(insertReception(c, reception({ indexAvant: 159_880, indexApres: 165_000 }))),
  },
  { step: 'cdr2_create_same_truck_after_decharge', actor: 'gerant', run: (c) => created(createCdr(c, cdr(SCENARIO_IDS.cdr2, -1, 30_000))) },
  { step: 'cdr3_create_refused_truck_still_open', actor: 'gerant', run: (c) => created(createCdr(c, cdr(SCENARIO_IDS.cdr3, 0, 30_000))) },
  {
    step: 'reception_partenaire_refused_without_partner',
    actor: 'operateur',
    run: (c) =>
      created(insertReception(c, reception({ cdrId: null, owner: 'PARTENAIRE', indexAvant: 159_880, indexApres: 184_880 }))),
  },
  {
    step: 'reception_partenaire',
    actor: 'operateur',
    run: (c) =>
      created(
        insertReception(
          c,
          reception({
            id: SCENARIO_IDS.receptionPartenaire,
            cdrId: null,
            owner: 'PARTENAIRE',
            partenaireId: PARTNER,
            indexAvant: 159_880,
            indexApres: 184_880,
            temperatureC: 26.1,
            densityKgM3: 839.4,
            createdAt: at(0, '11:40'),
          }),
        ),
      ),
  },
  {
    step: 'sortie_client',
    actor: 'gerant',
    run: (c) => created(insertSortie(c, sortie({ id: SCENARIO_IDS.sortieClient, indexAvant: 300_000, indexApres: 312_000 }))),
  },
  {
    step: 'sortie_refused_insufficient_stock',
    actor: 'gerant',
    run: (c) => created(insertSortie(c, sortie({ indexAvant: 312_000, indexApres: 372_000 }))),
  },
  {
    step: 'sortie_refused_wrong_product_for_tank',
    actor: 'gerant',
    run: (c) => created(insertSortie(c, sortie({ produitId: PRODUIT_ESS_ID, indexAvant: 312_000, indexApres: 315_000 }))),
  },
  {
    step: 'sortie_refused_no_stock_in_tank',
    actor: 'gerant',
    run: (c) => created(insertSortie(c, sortie({ citerneId: TANK2, indexAvant: 50_000, indexApres: 55_000 }))),
  },
  {
    step: 'sortie_refused_two_beneficiaries',
    actor: 'gerant',
    run: (c) => created(insertSortie(c, sortie({ partenaireId: PARTNER, indexAvant: 312_000, indexApres: 315_000 }))),
  },
  {
    step: 'sortie_refused_no_beneficiary',
    actor: 'gerant',
    run: (c) => created(insertSortie(c, sortie({ clientId: null, indexAvant: 312_000, indexApres: 315_000 }))),
  },
  {
    step: 'sortie_partenaire',
    actor: 'operateur',
    run: (c) =>
      created(
        insertSortie(
          c,
          sortie({
            id: SCENARIO_IDS.sortiePartenaire,
            clientId: null,
            partenaireId: PARTNER,
            owner: 'PARTENAIRE',
            indexAvant: 312_000,
            indexApres: 318_500,
            dateSortie: at(0, '15:20'),
          }),
        ),
      ),
  },
  {
    step: 'sortie_brouillon',
    actor: 'operateur',
    run: (c) =>
      created(
        insertSortie(
          c,
          sortie({ id: SCENARIO_IDS.sortieBrouillon, statut: 'brouillon', indexAvant: 318_500, indexApres: 323_500, dateSortie: at(0, '16:00') }),
        ),
      ),
  },
  {
    step: 'brouillon_validation_refused',
    actor: 'operateur',
    run: (c) => update(c, `UPDATE public.sorties_produit SET statut = 'validee' WHERE id = $1`, [SCENARIO_IDS.sortieBrouillon]),
  },
  {
    step: 'adjustment_on_reception',
    actor: 'admin',
    run: (c) =>
      created(
        insertAdjustment(c, {
          id: SCENARIO_IDS.adjustment,
          mouvementType: 'RECEPTION',
          mouvementId: SCENARIO_IDS.receptionCdr1,
          deltaAmbiant: -35,
          delta15c: -34.7,
          reason: '[VOLUME] Écart de jaugeage constaté après réception',
          createdBy: USERS.admin.userId,
          createdAt: at(0, '17:30'),
        }),
      ),
  },
  {
    step: 'adjustment_refused_context_mismatch',
    actor: 'admin',
    run: (c) =>
      created(
        insertAdjustment(c, {
          mouvementType: 'RECEPTION',
          mouvementId: SCENARIO_IDS.receptionCdr1,
          deltaAmbiant: -10,
          delta15c: -9.9,
          reason: '[VOLUME] Correction sur la mauvaise citerne',
          createdBy: USERS.admin.userId,
          citerneId: TANK2,
          createdAt: at(0, '17:35'),
        }),
      ),
  },
  {
    step: 'adjustment_refused_reason_too_short',
    actor: 'admin',
    run: (c) =>
      created(
        insertAdjustment(c, {
          mouvementType: 'RECEPTION',
          mouvementId: SCENARIO_IDS.receptionCdr1,
          deltaAmbiant: -5,
          delta15c: -5,
          reason: 'court',
          createdBy: USERS.admin.userId,
          createdAt: at(0, '17:40'),
        }),
      ),
  },
  {
    step: 'adjustment_refused_not_admin',
    actor: 'gerant',
    run: (c) =>
      created(
        insertAdjustment(c, {
          mouvementType: 'RECEPTION',
          mouvementId: SCENARIO_IDS.receptionCdr1,
          deltaAmbiant: -12,
          delta15c: -11.9,
          reason: '[VOLUME] Correction demandée par le gérant',
          createdBy: USERS.gerant.userId,
          createdAt: at(0, '17:45'),
        }),
      ),
  },
  {
    step: 'reception_update_refused',
    actor: 'service_role',
    run: (c) => update(c, `UPDATE public.receptions SET note = 'corrigé' WHERE id = $1`, [SCENARIO_IDS.receptionCdr1]),
  },
  {
    step: 'sortie_delete_refused',
    actor: 'service_role',
    run: (c) => update(c, `DELETE FROM public.sorties_produit WHERE id = $1`, [SCENARIO_IDS.sortieClient]),
  },
  {
    step: 'journal_direct_write_refused',
    actor: 'service_role',
    run: (c) =>
      update(
        c,
        `UPDATE public.stocks_journaliers SET stock_ambiant = stock_ambiant + 1000 WHERE citerne_id = $1`,
        [TANK1],
      ),
  },
  {
    step: 'snapshot_write_filtered_by_rls',
    actor: 'gerant',
    run: (c) => update(c, `UPDATE public.stocks_snapshot SET stock_ambiant = 0 WHERE citerne_id = $1`, [TANK1]),
  },
  {
    step: 'reception_refused_lecture_role',
    actor: 'lecture',
    run: (c) =>
      created(
        insertReception(
          c,
          reception({ cdrId: null, owner: 'PARTENAIRE', partenaireId: PARTNER, indexAvant: 184_880, indexApres: 186_880 }),
        ),
      ),
  },
  { step: 'cdr2_transit', actor: 'gerant', run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr2, 'TRANSIT').then((n) => ({ rowCount: n })) },
  { step: 'cdr2_frontiere', actor: 'gerant', run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr2, 'FRONTIERE').then((n) => ({ rowCount: n })) },
  { step: 'cdr2_arrive', actor: 'directeur', run: (c) => setCdrStatut(c, SCENARIO_IDS.cdr2, 'ARRIVE').then((n) => ({ rowCount: n })) },
  {
    step: 'cdr2_reception_tank3',
    actor: 'gerant',
    run: (c) =>
      created(
        insertReception(
          c,
          reception({
            id: SCENARIO_IDS.receptionCdr2,
            cdrId: SCENARIO_IDS.cdr2,
            citerneId: TANK3,
            indexAvant: 40_000,
            indexApres: 69_920,
            temperatureC: 23.2,
            densityKgM3: 836.9,
            createdAt: at(1, '08:20'),
          }),
        ),
      ),
  },
  {
    step: 'tank3_maintenance',
    actor: 'admin',
    run: (c) => update(c, `UPDATE public.citernes SET statut = 'maintenance' WHERE id = $1`, [TANK3]),
  },
  {
    step: 'sortie_refused_tank_not_active',
    actor: 'gerant',
    run: (c) =>
      created(insertSortie(c, sortie({ citerneId: TANK3, indexAvant: 80_000, indexApres: 85_000, dateSortie: at(1, '10:00') }))),
  },
  {
    step: 'tank3_reactivated',
    actor: 'admin',
    run: (c) => update(c, `UPDATE public.citernes SET statut = 'active' WHERE id = $1`, [TANK3]),
  },
  {
    step: 'tank3_safety_capacity_set',
    actor: 'admin',
    run: (c) => update(c, `UPDATE public.citernes SET capacite_securite = 25000 WHERE id = $1`, [TANK3]),
  },
  {
    step: 'sortie_refused_below_safety_capacity',
    actor: 'gerant',
    run: (c) =>
      created(insertSortie(c, sortie({ citerneId: TANK3, indexAvant: 80_000, indexApres: 86_000, dateSortie: at(1, '10:30') }))),
  },
  {
    step: 'tank3_safety_capacity_reset',
    actor: 'admin',
    run: (c) => update(c, `UPDATE public.citernes SET capacite_securite = 0 WHERE id = $1`, [TANK3]),
  },
  {
    step: 'sortie_tank3',
    actor: 'gerant',
    run: (c) =>
      created(
        insertSortie(
          c,
          sortie({ id: SCENARIO_IDS.sortieTank3, citerneId: TANK3, indexAvant: 80_000, indexApres: 86_000, dateSortie: at(1, '11:00') }),
        ),
      ),
  },
];

/** Runs the sequence and returns one outcome per step, in order. */
export async function runScriptedSequence(client: ClientBase): Promise<ScenarioOutcome[]> {
  await seedReference(client);
  const outcomes: ScenarioOutcome[] = [];
  for (const s of STEPS) outcomes.push(await runStep(client, s));
  return outcomes;
}

async function runStep(client: ClientBase, s: Step): Promise<ScenarioOutcome> {
  await client.query('BEGIN');
  try {
    if (s.actor === 'service_role') {
      await client.query('SET LOCAL ROLE service_role');
      await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ role: 'service_role' })]);
    } else {
      const u = USERS[s.actor];
      await client.query('SET LOCAL ROLE authenticated');
      await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({ sub: u.userId, role: 'authenticated', email: u.email }),
      ]);
    }
    const r = await s.run(client);
    await client.query('COMMIT');
    return { step: s.step, actor: s.actor, ok: true, ...r };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    return { step: s.step, actor: s.actor, ok: false, ...describeError(err) };
  }
}

/** Code, SQLSTATE and message of a database error. */
export function describeError(err: unknown): { code: string; sqlstate?: string; message: string } {
  const e = err as { message?: string; code?: string; constraint?: string };
  const message = e.message ?? String(err);
  const prefix = /^([A-Z][A-Z0-9_]{3,}):/.exec(message);
  const code =
    prefix?.[1] ??
    e.constraint ??
    (e.code === '42501' && message.includes('row-level security') ? 'RLS_VIOLATION' : undefined) ??
    e.code ??
    'UNKNOWN';
  return e.code ? { code, sqlstate: e.code, message } : { code, message };
}

export interface ScenarioState {
  stocks: Record<string, unknown>[];
  journal: Record<string, unknown>[];
  logs: Record<string, unknown>[];
  cdrs: Record<string, unknown>[];
  receptions: Record<string, unknown>[];
  sorties: Record<string, unknown>[];
  adjustments: Record<string, unknown>[];
}

/**
 * The business state after the sequence, without generated ids or wall-clock timestamps, in a
 * stable order: compare it across databases (e.g. with and without other triggers installed).
 */
export async function scenarioState(client: ClientBase): Promise<ScenarioState> {
  const q = async (sql: string): Promise<Record<string, unknown>[]> => (await client.query(sql)).rows;
  return {
    stocks: await q(
      `SELECT citerne_id, produit_id, proprietaire_type, depot_id, stock_ambiant, stock_15c, last_movement_at
       FROM public.stocks_snapshot ORDER BY citerne_id, produit_id, proprietaire_type`,
    ),
    journal: await q(
      `SELECT citerne_id, produit_id, proprietaire_type, date_jour::text AS date_jour, depot_id, stock_ambiant, stock_15c, source
       FROM public.stocks_journaliers ORDER BY citerne_id, produit_id, proprietaire_type, date_jour`,
    ),
    logs: await q(
      `SELECT action, module, niveau, user_id, details, cible_id
       FROM public.log_actions ORDER BY action, details::text`,
    ),
    cdrs: await q(`SELECT id, plaque_camion, statut, produit_id, fournisseur_lot_id FROM public.cours_de_route ORDER BY id`),
    receptions: await q(
      `SELECT id, cours_de_route_id, citerne_id, produit_id, proprietaire_type, partenaire_id, volume_ambiant, volume_15c,
              volume_corrige_15c, statut, created_by, date_reception::text AS date_reception
       FROM public.receptions ORDER BY id`,
    ),
    sorties: await q(
      `SELECT id, citerne_id, produit_id, proprietaire_type, client_id, partenaire_id, volume_ambiant, volume_15c,
              volume_corrige_15c, statut, created_by, date_sortie
       FROM public.sorties_produit ORDER BY id`,
    ),
    adjustments: await q(
      `SELECT id, mouvement_type, mouvement_id, citerne_id, produit_id, proprietaire_type, depot_id, delta_ambiant, delta_15c,
              reason, created_by
       FROM public.stocks_adjustments ORDER BY id`,
    ),
  };
}
