import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CITERNE_IDS, USERS } from './reference.js';
import { runScriptedSequence, SCENARIO_IDS, type ScenarioOutcome, scenarioState } from './scenarios.js';
import { createTestDatabase, type TestDatabase } from './testing/db.js';
import { invariantViolations } from './testing/invariants.js';

// The scripted GO PROD sequence: expected outcomes, resulting state, and reproducibility.

const EXPECTED: [step: string, ok: boolean, code?: string][] = [
  ['cdr1_create', true],
  ['cdr1_reception_refused_while_chargement', false, 'RECEPTION_CDR_NON_ARRIVE'],
  ['cdr1_transit', true],
  ['cdr1_frontiere', true],
  ['cdr1_arrive', true],
  ['cdr1_manual_decharge_refused', false, 'CDR_DECHARGE_INTERDIT'],
  ['reception_refused_tank_of_other_product', false, 'PRODUIT_CITERNE_MISMATCH'],
  ['reception_refused_product_differs_from_cdr', false, 'RECEPTION_CDR_PRODUIT_MISMATCH'],
  ['reception_refused_astm_out_of_domain', false, 'ASTM_HORS_DOMAINE'],
  ['cdr1_reception', true],
  ['cdr1_second_reception_refused', false, 'RECEPTION_CDR_NON_ARRIVE'],
  ['cdr2_create_same_truck_after_decharge', true],
  ['cdr3_create_refused_truck_still_open', false, 'uniq_open_cdr_per_truck'],
  ['reception_partenaire_refused_without_partner', false, 'receptions_partenaire_required_check'],
  ['reception_partenaire', true],
  ['sortie_client', true],
  ['sortie_refused_insufficient_stock', false, 'SORTIE_STOCK_INSUFFISANT_15C'],
  // ML_PP checks stock before product/tank match, so a wrong product finds no stock row first.
  ['sortie_refused_wrong_product_for_tank', false, 'SORTIE_STOCK_INTROUVABLE'],
  ['sortie_refused_no_stock_in_tank', false, 'SORTIE_STOCK_INTROUVABLE'],
  ['sortie_refused_two_beneficiaries', false, 'SORTIE_PROPRIETAIRE_INVALIDE'],
  ['sortie_refused_no_beneficiary', false, 'SORTIE_PROPRIETAIRE_INVALIDE'],
  ['sortie_partenaire', true],
  ['sortie_brouillon', true],
  ['brouillon_validation_refused', false, 'SORTIE_IMMUTABLE'],
  ['adjustment_on_reception', true],
  ['adjustment_refused_context_mismatch', false, 'CONTEXT_MISMATCH'],
  ['adjustment_refused_reason_too_short', false, 'stocks_adjustments_reason_check'],
  ['adjustment_refused_not_admin', false, 'RLS_VIOLATION'],
  ['reception_update_refused', false, 'RECEPTION_IMMUTABLE'],
  ['sortie_delete_refused', false, 'SORTIE_IMMUTABLE'],
  ['journal_direct_write_refused', false, 'STOCKS_JOURNALIERS_WRITE_FORBIDDEN'],
  ['snapshot_write_filtered_by_rls', true],
  ['reception_refused_lecture_role', false, 'RLS_VIOLATION'],
  ['cdr2_transit', true],
  ['cdr2_frontiere', true],
  ['cdr2_arrive', true],
  ['cdr2_reception_tank3', true],
  ['tank3_maintenance', true],
  ['sortie_refused_tank_not_active', false, 'SORTIE_CITERNE_INACTIVE'],
  ['tank3_reactivated', true],
  ['tank3_safety_capacity_set', true],
  ['sortie_refused_below_safety_capacity', false, 'SORTIE_CAPACITE_SECURITE'],
  ['tank3_safety_capacity_reset', true],
  ['sortie_tank3', true],
];

describe('runScriptedSequence', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  let outcomes: ScenarioOutcome[];

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase('helpa_seed_scn_a'), createTestDatabase('helpa_seed_scn_b')]);
    outcomes = await runScriptedSequence(a.client);
  });

  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('returns the expected outcome for every step', () => {
    expect(outcomes.map((o) => (o.ok ? [o.step, true] : [o.step, false, o.code]))).toEqual(EXPECTED);
    expect(outcomes.find((o) => o.step === 'snapshot_write_filtered_by_rls')?.rowCount).toBe(0);
  });

  it('leaves the expected stocks, journal and logs', async () => {
    const state = await scenarioState(a.client);
    const stock = (citerne: string, owner: string) =>
      state.stocks.find((s) => s['citerne_id'] === citerne && s['proprietaire_type'] === owner)?.['stock_ambiant'];
    expect(stock(CITERNE_IDS.TANK1, 'MONALUXE')).toBe(39_880 - 12_000);
    expect(stock(CITERNE_IDS.TANK1, 'PARTENAIRE')).toBe(25_000 - 6_500);
    expect(stock(CITERNE_IDS.TANK3, 'MONALUXE')).toBe(29_920 - 6_000);
    expect(state.stocks.length).toBe(3);
    expect(state.journal.map((j) => [j['citerne_id'], j['proprietaire_type'], j['date_jour'], j['stock_ambiant']])).toEqual([
      [CITERNE_IDS.TANK1, 'MONALUXE', '2026-02-10', 27_880],
      [CITERNE_IDS.TANK1, 'PARTENAIRE', '2026-02-10', 18_500],
      [CITERNE_IDS.TANK3, 'MONALUXE', '2026-02-11', 23_920],
    ]);
    const actions = state.logs.map((l) => `${l['action']}/${l['module']}`);
    expect(actions).toEqual([
      'RECEPTION_CREEE/receptions',
      'RECEPTION_CREEE/receptions',
      'RECEPTION_CREEE/receptions',
      'RECEPTION_VALIDE/receptions',
      'RECEPTION_VALIDE/receptions',
      'RECEPTION_VALIDE/receptions',
      'SORTIE_VALIDE/sorties_produit',
      'SORTIE_VALIDE/sorties_produit',
      'SORTIE_VALIDE/sorties_produit',
    ]);
    // created_by comes from the JWT of the user who ran the step.
    const partner = state.receptions.find((r) => r['id'] === SCENARIO_IDS.receptionPartenaire);
    expect(partner?.['created_by']).toBe(USERS.operateur.userId);
    expect(state.cdrs.map((c) => c['statut'])).toEqual(['DECHARGE', 'DECHARGE']);
    expect(state.adjustments.map((x) => x['delta_ambiant'])).toEqual([-35]);
    expect(await invariantViolations(a.client)).toEqual({});
  });

  it('is reproducible: a second database ends in the same state with the same outcomes', async () => {
    const again = await runScriptedSequence(b.client);
    expect(again).toEqual(outcomes);
    expect(await scenarioState(b.client)).toEqual(await scenarioState(a.client));
  });
});
