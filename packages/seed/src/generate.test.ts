import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenerateResult, generateOperations } from './generate.js';
import { seedReference } from './reference.js';
import { createTestDatabase, type TestDatabase } from './testing/db.js';
import { invariantViolations } from './testing/invariants.js';

// A generated month must be clean (no ML_PP integrity anomaly, our own invariants hold) and
// reproducible for a seed.

const DAY = 86_400_000;
// The period ends today, so "now"-relative checks (stale / blocked CDRs) are meaningful.
const START = new Date(Date.now() - 30 * DAY);

const stocks = async (c: pg.ClientBase): Promise<unknown[]> =>
  (
    await c.query(
      `SELECT t.nom, s.proprietaire_type, s.stock_ambiant, s.stock_15c
       FROM stocks_snapshot s JOIN citernes t ON t.id = s.citerne_id ORDER BY t.nom, s.proprietaire_type`,
    )
  ).rows;

const fingerprint = async (c: pg.ClientBase): Promise<unknown> =>
  (
    await c.query(`
      SELECT (SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s', id, citerne_id, proprietaire_type, volume_ambiant, volume_15c, created_at), ',' ORDER BY id)) FROM receptions) AS r,
             (SELECT md5(string_agg(format('%s|%s|%s|%s|%s', id, citerne_id, client_id, volume_ambiant, volume_15c), ',' ORDER BY id)) FROM sorties_produit) AS s,
             (SELECT md5(string_agg(format('%s|%s|%s|%s', id, plaque_camion, statut, created_at), ',' ORDER BY id)) FROM cours_de_route) AS c,
             (SELECT md5(string_agg(format('%s|%s|%s|%s|%s', citerne_id, date_jour, proprietaire_type, stock_ambiant, stock_15c), ',' ORDER BY citerne_id, date_jour, proprietaire_type)) FROM stocks_journaliers) AS j`)
  ).rows[0];

describe('generateOperations', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  let result: GenerateResult;
  const progress: number[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase('helpa_seed_gen_a'), createTestDatabase('helpa_seed_gen_b')]);
    await seedReference(a.client);
    await seedReference(b.client);
    result = await generateOperations(a.client, {
      seed: 42,
      days: 30,
      movements: 900,
      start: START,
      onProgress: (p) => progress.push(p.written),
    });
  });

  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('writes the requested movements through the app path', async () => {
    expect(result.movements).toBe(900);
    expect(result.receptions + result.sorties + result.adjustments).toBe(900);
    expect(result.receptions).toBeGreaterThan(200);
    expect(result.sorties).toBeGreaterThan(400);
    expect(result.adjustments).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toBe(900);
    const c = a.client;
    const counts = (
      await c.query(`SELECT (SELECT count(*)::int FROM receptions) r, (SELECT count(*)::int FROM sorties_produit) s,
                            (SELECT count(*)::int FROM stocks_adjustments) a, (SELECT count(*)::int FROM cours_de_route) c,
                            (SELECT count(*)::int FROM log_actions WHERE action = 'RECEPTION_VALIDE') lr,
                            (SELECT count(*)::int FROM log_actions WHERE action = 'SORTIE_VALIDE') ls`)
    ).rows[0];
    expect(counts).toEqual({
      r: result.receptions,
      s: result.sorties,
      a: result.adjustments,
      c: result.cdrs,
      lr: result.receptions,
      ls: result.sorties,
    });
    // Both owners, both products, CDRs only on MONALUXE receptions, some linked to supplier lots.
    const mix = (
      await c.query(`SELECT count(DISTINCT proprietaire_type)::int owners, count(DISTINCT produit_id)::int products,
                            count(*) FILTER (WHERE proprietaire_type = 'MONALUXE' AND cours_de_route_id IS NULL)::int monaluxe_without_cdr
                     FROM receptions`)
    ).rows[0];
    expect(mix).toEqual({ owners: 2, products: 2, monaluxe_without_cdr: 0 });
    const lots = (await c.query(`SELECT count(*)::int n FROM cours_de_route WHERE fournisseur_lot_id IS NOT NULL`)).rows[0].n;
    expect(lots).toBeGreaterThan(0);
  });

  it('spreads movements over the period, in opening hours, with dates set to the simulated time', async () => {
    const c = a.client;
    const span = (
      await c.query(
        `SELECT min(created_at) AS first, max(created_at) AS last, count(DISTINCT date_reception)::int AS days,
                bool_and(extract(hour FROM created_at AT TIME ZONE 'Africa/Lubumbashi') BETWEEN 6 AND 18) AS hours
         FROM receptions`,
      )
    ).rows[0];
    expect(span.first.getTime()).toBeGreaterThanOrEqual(result.start.getTime());
    expect(span.last.getTime()).toBeLessThan(result.end.getTime());
    expect(span.days).toBeGreaterThanOrEqual(28);
    expect(span.hours).toBe(true);
    // Statuses written one by one: every unloaded CDR went through ARRIVE before its reception.
    const open = (await c.query(`SELECT statut, count(*)::int n FROM cours_de_route WHERE statut <> 'DECHARGE' GROUP BY 1`)).rows;
    expect(open.every((r) => ['CHARGEMENT', 'TRANSIT', 'FRONTIERE'].includes(r.statut))).toBe(true);
    // Truck plates are reused, but only after DECHARGE (the unique index guarantees the rest).
    const reused = (await c.query(`SELECT count(*)::int n FROM (SELECT plaque_camion FROM cours_de_route GROUP BY 1 HAVING count(*) > 1) x`)).rows[0].n;
    expect(reused).toBeGreaterThan(0);
  });

  it('produces a clean month: no ML_PP integrity check fires and every invariant holds', async () => {
    expect((await a.client.query(`SELECT * FROM v_integrity_checks`)).rows).toEqual([]);
    expect(await invariantViolations(a.client)).toEqual({});
    // ML_PP's alert sync has nothing to open.
    expect((await a.client.query(`SELECT sync_system_alerts_from_integrity() AS r`)).rows[0].r).toEqual({
      upserted: 0,
      reopened: 0,
      resolved: 0,
    });
  });

  it('rebuild_stocks_journaliers reproduces the journal the triggers wrote', async () => {
    const c = a.client;
    const before = await c.query(`SELECT citerne_id, proprietaire_type, date_jour, stock_ambiant, stock_15c FROM stocks_journaliers ORDER BY 1, 2, 3`);
    await c.query('BEGIN');
    try {
      await c.query(`SELECT rebuild_stocks_journaliers(NULL, '2000-01-01', '2100-01-01')`);
      const after = await c.query(`SELECT citerne_id, proprietaire_type, date_jour, stock_ambiant, stock_15c FROM stocks_journaliers ORDER BY 1, 2, 3`);
      expect(after.rows.length).toBe(before.rows.length);
      after.rows.forEach((row, i) => {
        const old = before.rows[i];
        expect(row.citerne_id).toBe(old.citerne_id);
        expect(row.stock_ambiant).toBeCloseTo(old.stock_ambiant, 3);
        expect(row.stock_15c).toBeCloseTo(old.stock_15c, 3);
      });
    } finally {
      await c.query('ROLLBACK');
    }
  });

  it('is deterministic: the same seed gives the same rows and stocks', async () => {
    await generateOperations(b.client, { seed: 42, days: 30, movements: 900, start: START });
    expect(await stocks(b.client)).toEqual(await stocks(a.client));
    expect(await fingerprint(b.client)).toEqual(await fingerprint(a.client));
  });

  it('continues from the current state: a following period on the same database stays clean', async () => {
    const more = await generateOperations(b.client, { seed: 43, days: 10, movements: 300, start: new Date(START.getTime() + 30 * DAY) });
    expect(more.movements).toBe(300);
    expect(await stocks(b.client)).not.toEqual(await stocks(a.client));
    expect(await invariantViolations(b.client)).toEqual({});
  });
});
