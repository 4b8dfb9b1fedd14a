import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ANOMALY_KINDS, type AnomalyKind, type InjectedAnomaly, injectAnomaly } from './anomalies.js';
import { generateOperations } from './generate.js';
import { PRODUIT_GO_ID, seedReference } from './reference.js';
import { createTestDatabase, type TestDatabase } from './testing/db.js';
import { invariantViolations } from './testing/invariants.js';

// Each anomaly is injected into its own copy of one clean generated month, then we check that it
// produced what it claims: the rows it reports, the invariant(s) it breaks (and only those), and
// what ML_PP's own V1 view sees (its known blind spots included).

const DAY = 86_400_000;
let base: TestDatabase;
let db: TestDatabase | undefined;

beforeAll(async () => {
  base = await createTestDatabase('helpa_seed_anom_base');
  await seedReference(base.client);
  await generateOperations(base.client, { seed: 5, days: 30, movements: 600, start: new Date(Date.now() - 30 * DAY) });
  await base.disconnect();
});

afterEach(async () => {
  await db?.drop();
  db = undefined;
});

afterAll(async () => {
  await base?.drop();
});

async function inject(kind: AnomalyKind): Promise<{ c: pg.Client; a: InjectedAnomaly; v1: { check_code: string; entity_id: string }[] }> {
  db = await createTestDatabase('helpa_seed_anom', { template: base.name });
  const c = db.client;
  expect(await invariantViolations(c)).toEqual({});
  const a = await injectAnomaly(c, kind);
  expect(a.kind).toBe(kind);
  for (const [table, ids] of Object.entries(a.touched)) {
    if (table === 'stocks_journaliers') continue; // deleted rows
    const found = await c.query(`SELECT count(*)::int AS n FROM public.${table} WHERE id = ANY($1::uuid[])`, [ids]);
    expect(found.rows[0].n, table).toBe(ids.length);
  }
  const v1 = (await c.query(`SELECT check_code, entity_id FROM v_integrity_checks ORDER BY 1, 2`)).rows;
  return { c, a, v1 };
}

const broken = async (c: pg.ClientBase): Promise<string[]> => Object.keys(await invariantViolations(c)).sort();

describe('injectAnomaly', () => {
  it('knows 13 kinds', () => {
    expect(ANOMALY_KINDS.length).toBe(13);
  });

  it('STOCK_NEGATIF: book stock below zero, invisible to V1 (clamped view)', async () => {
    const { c, a, v1 } = await inject('STOCK_NEGATIF');
    expect(a.entityType).toBe('CITERNE_STOCK');
    const row = (
      await c.query(
        `SELECT stock_ambiant, stock_ambiant_base + delta_ambiant_total AS book FROM v_stock_actuel
         WHERE citerne_id = $1 AND proprietaire_type = 'MONALUXE'`,
        [a.entityId],
      )
    ).rows[0];
    expect(row.book).toBeLessThan(-2_000);
    expect(row.stock_ambiant).toBe(0);
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['book_stock_not_negative']);
  });

  it('STOCK_OVER_CAPACITY: tank total above capacity, every owner row below it, V1 silent', async () => {
    const { c, a, v1 } = await inject('STOCK_OVER_CAPACITY');
    const rows = (
      await c.query(
        `SELECT v.stock_ambiant, c.capacite_totale FROM v_stock_actuel v JOIN citernes c ON c.id = v.citerne_id WHERE v.citerne_id = $1`,
        [a.entityId],
      )
    ).rows;
    const total = rows.reduce((s, r) => s + r.stock_ambiant, 0);
    expect(total).toBeGreaterThan(rows[0].capacite_totale);
    for (const r of rows) expect(r.stock_ambiant).toBeLessThan(r.capacite_totale);
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['tank_total_within_capacity']);
  });

  it('CDR_ARRIVE_STALE: seen by V1', async () => {
    const { c, a, v1 } = await inject('CDR_ARRIVE_STALE');
    expect(v1).toEqual([{ check_code: 'CDR_ARRIVE_STALE', entity_id: a.entityId }]);
    expect(await broken(c)).toEqual(['no_cdr_left_arrive', 'v_integrity_checks_empty']);
  });

  it('RECEPTION_ECART_15C: seen by V1', async () => {
    const { c, a, v1 } = await inject('RECEPTION_ECART_15C');
    expect(v1).toEqual([{ check_code: 'RECEPTION_ECART_15C', entity_id: a.entityId }]);
    expect(await broken(c)).toEqual(['receptions_ecart_15c', 'v_integrity_checks_empty']);
  });

  it('SORTIE_ECART_15C: seen by V1 (legacy column)', async () => {
    const { c, a, v1 } = await inject('SORTIE_ECART_15C');
    expect(v1).toEqual([{ check_code: 'SORTIE_ECART_15C', entity_id: a.entityId }]);
    const s = (await c.query(`SELECT volume_15c, volume_corrige_15c, volume_ambiant FROM sorties_produit WHERE id = $1`, [a.entityId])).rows[0];
    expect(s.volume_15c).toBeNull();
    expect(s.volume_corrige_15c / s.volume_ambiant).toBeCloseTo(0.93, 3);
    expect(await broken(c)).toEqual(['sorties_ecart_15c', 'v_integrity_checks_empty']);
  });

  it('SORTIE_STOCK_INSUFFISANT: a validated sortie larger than the official stock', async () => {
    const { c, a, v1 } = await inject('SORTIE_STOCK_INSUFFISANT');
    const s = (await c.query(`SELECT citerne_id, statut, volume_ambiant FROM sorties_produit WHERE id = $1`, [a.entityId])).rows[0];
    expect(s.statut).toBe('validee');
    const book = (
      await c.query(
        `SELECT stock_ambiant_base + delta_ambiant_total AS book FROM v_stock_actuel WHERE citerne_id = $1 AND proprietaire_type = 'MONALUXE'`,
        [s.citerne_id],
      )
    ).rows[0].book;
    expect(book + s.volume_ambiant).toBeLessThan(s.volume_ambiant); // official stock before the sortie < sortie
    expect(a.touched.stocks_adjustments?.length).toBe(1);
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['book_stock_not_negative']);
  });

  it('CITERNE_INACTIVE_USED: a reception into an inactive tank', async () => {
    const { c, a, v1 } = await inject('CITERNE_INACTIVE_USED');
    const r = (
      await c.query(`SELECT c.statut FROM receptions r JOIN citernes c ON c.id = r.citerne_id WHERE r.id = $1`, [a.entityId])
    ).rows[0];
    expect(r.statut).toBe('inactive');
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['movements_on_active_tanks_of_their_product']);
  });

  it('STOCK_DRIFT: snapshot differs from movements and journal', async () => {
    const { c, a, v1 } = await inject('STOCK_DRIFT');
    expect(a.path).toBe('superuser');
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['journal_latest_equals_snapshot', 'snapshot_equals_movements']);
  });

  it('JOURNAL_MISSING: a day with a movement has no journal row', async () => {
    const { c, a, v1 } = await inject('JOURNAL_MISSING');
    expect(a.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const rows = await c.query(
      `SELECT 1 FROM stocks_journaliers WHERE citerne_id = $1 AND proprietaire_type = 'PARTENAIRE' AND date_jour = $2::date`,
      [a.entityId, a.date],
    );
    expect(rows.rows).toEqual([]);
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['journal_cumulative', 'journal_row_every_movement_day']);
  });

  it('OWNER_MIXING: a MONALUXE reception carrying a partner', async () => {
    const { c, a, v1 } = await inject('OWNER_MIXING');
    const r = (await c.query(`SELECT proprietaire_type, partenaire_id FROM receptions WHERE id = $1`, [a.entityId])).rows[0];
    expect(r.proprietaire_type).toBe('MONALUXE');
    expect(r.partenaire_id).not.toBeNull();
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['owner_matches_beneficiary']);
  });

  it('PRODUCT_MIXING: two products with stock in one tank', async () => {
    const { c, a, v1 } = await inject('PRODUCT_MIXING');
    const products = (
      await c.query(`SELECT DISTINCT produit_id FROM stocks_snapshot WHERE citerne_id = $1 AND stock_ambiant > 0 ORDER BY 1`, [a.entityId])
    ).rows;
    expect(products.length).toBe(2);
    expect(products.map((p) => p.produit_id)).toContain(PRODUIT_GO_ID);
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['movements_on_active_tanks_of_their_product', 'one_product_per_tank']);
  });

  it('SORTIE_INCOHERENTE: overlapping meter range and a date in the future', async () => {
    const { c, a, v1 } = await inject('SORTIE_INCOHERENTE');
    const s = (
      await c.query(
        `SELECT s.date_sortie > s.created_at + interval '1 day' AS future,
                s.index_avant < (SELECT max(index_apres) FROM sorties_produit o WHERE o.citerne_id = s.citerne_id AND o.id <> s.id) AS overlap
         FROM sorties_produit s WHERE s.id = $1`,
        [a.entityId],
      )
    ).rows[0];
    expect(s).toEqual({ future: true, overlap: true });
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['measurements_in_range', 'sortie_meters_continuous']);
  });

  it('CDR_BLOCKED: a CDR stuck at FRONTIERE for 20 days', async () => {
    const { c, a, v1 } = await inject('CDR_BLOCKED');
    const r = (
      await c.query(`SELECT statut, created_at < now() - interval '19 days' AS old FROM cours_de_route WHERE id = $1`, [a.entityId])
    ).rows[0];
    expect(r).toEqual({ statut: 'FRONTIERE', old: true });
    expect(v1).toEqual([]);
    expect(await broken(c)).toEqual(['cdr_open_at_most_6_days']);
  });

  it('also works on a database with reference data only', async () => {
    db = await createTestDatabase('helpa_seed_anom_empty');
    await seedReference(db.client);
    for (const kind of ANOMALY_KINDS) {
      const a = await injectAnomaly(db.client, kind);
      expect(a.entityId, kind).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
