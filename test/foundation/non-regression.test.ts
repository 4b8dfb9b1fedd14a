import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import { runScriptedSequence } from '@vigie/seed';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// ML_PP's GO PROD flows must behave exactly the same with Vigie installed:
// the same scripted sequence (receptions, sorties, adjustments, CDR moves,
// rejected cases included) on the reference DB without and with Vigie's
// triggers gives identical stocks, journal, logs, CDR states and errors.

let plain: TestDatabase;
let withVigie: TestDatabase;

beforeAll(async () => {
  [plain, withVigie] = await Promise.all([
    createTestDatabase({ kind: 'reference', prefix: 'nr_plain' }),
    createTestDatabase({ kind: 'reference+vigie', prefix: 'nr_vigie' }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.drop(), withVigie?.drop()]);
});

async function observe(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const outcomes = await runScriptedSequence(c);
    const q = async (sql: string) => (await c.query(sql)).rows;
    return {
      outcomes,
      snapshot: await q(`select ci.nom, p.code, s.proprietaire_type, round(s.stock_ambiant::numeric, 3) as amb, round(s.stock_15c::numeric, 3) as v15
                           from public.stocks_snapshot s join public.citernes ci on ci.id = s.citerne_id join public.produits p on p.id = s.produit_id
                          order by 1, 2, 3`),
      stockActuel: await q(`select ci.nom, v.proprietaire_type, round(v.stock_ambiant::numeric, 3) as amb, round(v.stock_15c::numeric, 3) as v15
                              from public.v_stock_actuel v join public.citernes ci on ci.id = v.citerne_id order by 1, 2`),
      journal: await q(`select j.date_jour::text, ci.nom, j.proprietaire_type, round(j.stock_ambiant::numeric, 3) as amb,
                               round(j.stock_15c::numeric, 3) as v15, j.source
                          from public.stocks_journaliers j join public.citernes ci on ci.id = j.citerne_id order by 1, 2, 3`),
      logs: await q('select action, module, niveau, count(*)::int as n from public.log_actions group by 1, 2, 3 order by 1, 2, 3'),
      cdr: await q('select plaque_camion, statut from public.cours_de_route order by 1, 2'),
      movements: await q(`select 'R' as t, count(*)::int as n, round(sum(volume_ambiant)::numeric, 3) as v from public.receptions
                          union all select 'S', count(*)::int, round(sum(volume_ambiant)::numeric, 3) from public.sorties_produit
                          union all select 'A', count(*)::int, round(sum(delta_ambiant)::numeric, 3) from public.stocks_adjustments order by 1`),
      vigieEvents: (await c.query("select count(*)::int as n from information_schema.tables where table_schema = 'vigie' and table_name = 'outbox'")).rows[0]
        .n
        ? (await c.query('select count(*)::int as n from vigie.outbox')).rows[0].n
        : null,
    };
  } finally {
    await c.end();
  }
}

describe('non-regression of ML_PP GO PROD flows', () => {
  it('gives identical stocks, journal, logs, CDR states and errors with and without Vigie', async () => {
    const a = await observe(plain.url);
    const b = await observe(withVigie.url);
    // The sequence really exercised the rejected paths.
    const errors = a.outcomes.filter((o) => !o.ok).map((o) => o.code);
    expect(errors).toEqual(expect.arrayContaining(['SORTIE_STOCK_INSUFFISANT_15C', 'PRODUIT_CITERNE_MISMATCH']));
    expect(a.outcomes.length).toBeGreaterThan(10);
    const { vigieEvents: ea, ...restA } = a;
    const { vigieEvents: eb, ...restB } = b;
    expect(restB).toEqual(restA);
    // And Vigie saw it: without Vigie there is no outbox, with Vigie there are events.
    expect(ea).toBeNull();
    expect(eb).toBeGreaterThan(0);
  });
});
