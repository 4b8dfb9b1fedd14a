import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, insertReception, insertSortie } from '../support/mlpp.js';

let db: TestDatabase;
let c: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'capture' });
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
});
afterAll(async () => {
  await c?.end();
  await db?.drop();
});

describe('event capture', () => {
  it('writes exactly one outbox event per validated reception, with ids only', async () => {
    const f = await fixture(c);
    const before = await c.query('select coalesce(max(id), 0) as m from vigie.outbox');
    const id = await insertReception(c, f, { volume: 10_000 });
    const { rows } = await c.query('select kind, entity_type, entity_id, scope, payload from vigie.outbox where id > $1 order by id', [before.rows[0].m]);
    const receptionEvents = rows.filter((r) => r.kind === 'reception.created');
    expect(receptionEvents).toHaveLength(1);
    expect(receptionEvents[0]).toMatchObject({ entity_type: 'RECEPTION', entity_id: id, scope: `citerne:${f.citerneId}` });
    expect(Object.keys(receptionEvents[0].payload).sort()).toEqual(['citerne_id', 'cours_de_route_id', 'produit_id', 'proprietaire_type', 'statut']);
  });

  it('captures a multi-row insert in one statement as one event per row', async () => {
    const f = await fixture(c);
    const before = await c.query('select coalesce(max(id), 0) as m from vigie.outbox');
    await insertReception(c, f, { volume: 1_000, rows: 3 });
    const { rows } = await c.query("select count(*)::int as n from vigie.outbox where id > $1 and kind = 'reception.created'", [before.rows[0].m]);
    expect(rows[0].n).toBe(3);
  });

  it('records when each CDR status was entered, which ML_PP does not', async () => {
    const f = await fixture(c);
    const { rows } = await c.query(
      `insert into public.cours_de_route (fournisseur_id, depot_destination_id, produit_id, plaque_camion, volume, statut)
       values ($1, $2, $3, 'CAP-TEST-01', 30000, 'CHARGEMENT') returning id`,
      [f.fournisseurId, f.depotId, f.produitId],
    );
    const cdr = rows[0].id;
    for (const s of ['TRANSIT', 'FRONTIERE', 'ARRIVE']) await c.query('update public.cours_de_route set statut = $1 where id = $2', [s, cdr]);
    const hist = await c.query('select statut from vigie.cdr_status_history where cdr_id = $1 order by entered_at', [cdr]);
    expect(hist.rows.map((r) => r.statut)).toEqual(['CHARGEMENT', 'TRANSIT', 'FRONTIERE', 'ARRIVE']);
    const ev = await c.query("select payload from vigie.outbox where kind = 'cdr.status_changed' and entity_id = $1 order by id", [cdr]);
    expect(ev.rows.map((r) => r.payload.to)).toEqual(['TRANSIT', 'FRONTIERE', 'ARRIVE']);
  });

  it('a failure inside a Vigie trigger leaves the business write committed and the failure visible', async () => {
    const f = await fixture(c);
    const warnings: string[] = [];
    const onNotice = (n: { message?: string }) => warnings.push(n.message ?? '');
    c.on('notice', onNotice);
    // A real failure, not a test switch: the outbox refuses sortie events.
    await c.query("alter table vigie.outbox add constraint test_refuse_sorties check (kind <> 'sortie.created')");
    try {
      await insertReception(c, f, { volume: 20_000 });
      const sortieId = await insertSortie(c, f, { volume: 5_000 });
      const committed = await c.query('select statut from public.sorties_produit where id = $1', [sortieId]);
      expect(committed.rows[0]?.statut).toBe('validee');
      const snapshot = await c.query(
        "select stock_ambiant from public.stocks_snapshot where citerne_id = $1 and proprietaire_type = 'MONALUXE'",
        [f.citerneId],
      );
      expect(Number(snapshot.rows[0]?.stock_ambiant)).toBeGreaterThan(0);
      const failures = await c.query("select trigger_name, table_name, sqlstate, message from vigie.trigger_failures where table_name = 'sorties_produit'");
      expect(failures.rows).toHaveLength(1);
      expect(failures.rows[0]).toMatchObject({ trigger_name: 'zz_vigie_capture_ins', sqlstate: '23514' });
      expect(warnings.some((w) => w.includes('vigie: capture zz_vigie_capture_ins sur sorties_produit a échoué'))).toBe(true);
    } finally {
      await c.query('alter table vigie.outbox drop constraint test_refuse_sorties');
      c.off('notice', onNotice);
    }
  });
});
