import { sweep } from '@vigie/rules';
import { injectAnomaly, insertAdjustment, insertReception, PARTENAIRES, PRODUIT_ESS_ID, PRODUIT_GO_ID, USERS } from '@vigie/seed';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { alerts, transitions, unresolved, withDb } from '../support/integrity.js';

// The path back to RESOLVED, rule by rule: inject the anomaly, make the
// correction the runbook (docs/runbooks/alertes.md) tells ML_PP's admin to
// make — a compensating adjustment, a journal rebuild, a snapshot correction,
// the tank's declared product put back —, sweep, and read system_alerts and
// the transitions the notifier would see. Validated movements are immutable
// in ML_PP: corrections are new rows, never UPDATEs of a movement.

const ADMIN = USERS.admin.userId;

/** The one alert of a code, asserted OPEN with a single 'opened' transition. */
async function openAlert(c: pg.Client, code: string) {
  const rows = await alerts(c, code);
  expect(rows.map((r) => r.status)).toEqual(['OPEN']);
  expect(await transitions(c, rows[0]!.id)).toEqual(['opened']);
  return rows[0]!;
}

/** The alert was auto-resolved by Vigie (resolved_by NULL), its transitions emitted once each, nothing else left open. */
async function expectAutoResolved(c: pg.Client, id: string): Promise<void> {
  const { rows } = await c.query('select status, resolved_by, resolved_at from public.system_alerts where id = $1', [id]);
  expect(rows[0]).toMatchObject({ status: 'RESOLVED', resolved_by: null });
  expect(rows[0].resolved_at).not.toBeNull();
  expect(await transitions(c, id)).toEqual(['opened', 'resolved']);
  expect(await unresolved(c)).toEqual([]);
}

/**
 * Cancels a validated movement the way ML_PP allows: an adjustment (a stock
 * delta) that brings the movement's corrected volumes to 0. A reception added
 * its volume to the stock, so the stock gives it back (−); a sortie took it,
 * so the stock gets it back (+).
 */
async function cancel(c: pg.Client, type: 'RECEPTION' | 'SORTIE', id: string, reason: string): Promise<void> {
  const table = type === 'RECEPTION' ? 'receptions' : 'sorties_produit';
  const { rows } = await c.query(
    `select m.volume_ambiant as amb, coalesce(m.volume_15c, m.volume_corrige_15c) as v15,
            (select coalesce(sum(a.delta_ambiant), 0) from public.stocks_adjustments a where a.mouvement_id = m.id) as adj_amb,
            (select coalesce(sum(a.delta_15c), 0) from public.stocks_adjustments a where a.mouvement_id = m.id) as adj_15c
       from public.${table} m where m.id = $1`,
    [id],
  );
  const m = rows[0];
  const sign = type === 'RECEPTION' ? -1 : 1;
  // Corrected volume: reception volume + delta, sortie volume − delta.
  const amb = Number(m.amb) - sign * Number(m.adj_amb);
  const v15 = Number(m.v15) - sign * Number(m.adj_15c);
  await insertAdjustment(c, { mouvementType: type, mouvementId: id, deltaAmbiant: sign * amb, delta15c: sign * v15, reason, createdBy: ADMIN });
}

describe('the path back to RESOLVED, for each remaining rule', () => {
  it('STOCK_OVER_CAPACITY: the receptions entered twice are cancelled; partly corrected it stays OPEN with new figures, then resolves', async () => {
    await withDb('res_capacity', async (c, app) => {
      const injected = await injectAnomaly(c, 'STOCK_OVER_CAPACITY');
      await sweep(app);
      const row = await openAlert(c, 'STOCK_OVER_CAPACITY');
      expect(row.entity_id).toBe(injected.entityId);
      const limit = Number(row.payload.threshold);
      let total = Number(row.payload.stock_ambiant);
      expect(total).toBeGreaterThan(limit);
      const receptions = [...(injected.touched.receptions ?? [])].reverse();
      let cancelled = 0;
      for (const id of receptions) {
        const { rows } = await c.query('select volume_ambiant from public.receptions where id = $1', [id]);
        await cancel(c, 'RECEPTION', id, `[VOLUME] Réception saisie deux fois, annulée (alerte ${row.id})`);
        total -= Number(rows[0].volume_ambiant);
        cancelled++;
        await sweep(app);
        if (total <= limit) break;
        // Still over the limit: same alert, still OPEN, figures updated, no new transition.
        const [still] = await alerts(c, 'STOCK_OVER_CAPACITY');
        expect(still).toMatchObject({ id: row.id, status: 'OPEN' });
        expect(Number(still!.payload.stock_ambiant)).toBeCloseTo(total, 0);
        expect(await transitions(c, row.id)).toEqual(['opened']);
      }
      expect(cancelled).toBeGreaterThanOrEqual(2);
      await expectAutoResolved(c, row.id);
    });
  });

  it('SORTIE_STOCK_INSUFFISANT: the wrong negative adjustment is compensated; the sortie and the negative stock both resolve', async () => {
    await withDb('res_insuff', async (c, app) => {
      const injected = await injectAnomaly(c, 'SORTIE_STOCK_INSUFFISANT');
      await sweep(app);
      const row = await openAlert(c, 'SORTIE_STOCK_INSUFFISANT');
      expect(row.entity_id).toBe(injected.entityId);
      // The same wrong adjustment left the book stock below zero.
      const negative = await openAlert(c, 'STOCK_NEGATIF');
      const [adj] = injected.touched.stocks_adjustments ?? [];
      const { rows } = await c.query('select mouvement_type, mouvement_id, delta_ambiant, delta_15c from public.stocks_adjustments where id = $1', [adj]);
      const wrong = rows[0];
      await insertAdjustment(c, { mouvementType: wrong.mouvement_type, mouvementId: wrong.mouvement_id, deltaAmbiant: -wrong.delta_ambiant,
        delta15c: -wrong.delta_15c, reason: `[VOLUME] Annule l'ajustement ${adj} : jaugeage refait, pas de perte (alerte ${row.id})`, createdBy: ADMIN });
      await sweep(app);
      await expectAutoResolved(c, row.id);
      await expectAutoResolved(c, negative.id);
    });
  });

  it('CITERNE_INACTIVE_USED: the tank put back active keeps the alert (the reception did happen while it was out); cancelling the misdirected reception resolves it', async () => {
    await withDb('res_inactive', async (c, app) => {
      const injected = await injectAnomaly(c, 'CITERNE_INACTIVE_USED');
      await sweep(app);
      const row = await openAlert(c, 'CITERNE_INACTIVE_USED');
      expect(row.entity_id).toBe(injected.entityId);
      const [tank] = injected.touched.citernes ?? [];
      await c.query(`update public.citernes set statut = 'active' where id = $1`, [tank]);
      // A reception after the tank is back in service raises nothing new.
      const { rows: ref } = await c.query('select produit_id from public.citernes where id = $1', [tank]);
      await insertReception(c, { citerneId: tank!, produitId: ref[0].produit_id, owner: 'PARTENAIRE', partenaireId: PARTENAIRES[0].id,
        indexAvant: 900_000, indexApres: 902_000, temperatureC: 26, densityKgM3: 838 });
      await sweep(app);
      expect((await alerts(c, 'CITERNE_INACTIVE_USED')).map((a) => `${a.entity_id} ${a.status}`)).toEqual([`${row.entity_id} OPEN`]);
      await cancel(c, 'RECEPTION', injected.entityId, `[VOLUME] Réception saisie sur la mauvaise citerne, annulée (alerte ${row.id})`);
      await sweep(app);
      await expectAutoResolved(c, row.id);
    });
  });

  it('STOCK_DRIFT: the snapshot corrected by the admin in psql (logged like the J0 declaration) resolves it', async () => {
    await withDb('res_drift', async (c, app) => {
      const injected = await injectAnomaly(c, 'STOCK_DRIFT');
      await sweep(app);
      const row = await openAlert(c, 'STOCK_DRIFT');
      expect(row.payload).toMatchObject({ citerne_id: injected.entityId, proprietaire: 'MONALUXE' });
      const { rows } = await c.query(
        `select s.citerne_id, s.produit_id, s.depot_id from public.stocks_snapshot s where s.id = $1`,
        [injected.touched.stocks_snapshot?.[0]],
      );
      const key = rows[0];
      await c.query(
        `select public.stock_snapshot_apply_delta($1, $2, 'MONALUXE', $3, -1500, -1487.3, now())`,
        [key.citerne_id, key.produit_id, key.depot_id],
      );
      await c.query(
        `insert into public.log_actions (user_id, action, module, niveau, details, cible_id)
         values ($1, 'STOCK_SNAPSHOT_CORRECTION', 'stocks', 'CRITICAL', jsonb_build_object('actor', 'psql-admin', 'alerte', $2::text), $3)`,
        [ADMIN, row.id, key.citerne_id],
      );
      await sweep(app);
      await expectAutoResolved(c, row.id);
    });
  });

  it('JOURNAL_MISSING: rebuild_stocks_journaliers over the missing day resolves it, and the rebuilt journal agrees with the stock', async () => {
    await withDb('res_journal', async (c, app) => {
      const injected = await injectAnomaly(c, 'JOURNAL_MISSING');
      await sweep(app);
      const row = await openAlert(c, 'JOURNAL_MISSING');
      expect(row.payload).toMatchObject({ citerne_id: injected.entityId, proprietaire: 'PARTENAIRE', dates: [injected.date] });
      const { rows } = await c.query('select depot_id from public.citernes where id = $1', [injected.entityId]);
      const written = await c.query('select public.rebuild_stocks_journaliers($1, $2::date, $2::date) as n', [rows[0].depot_id, injected.date]);
      expect(written.rows[0].n).toBeGreaterThanOrEqual(1);
      await sweep(app);
      // No STOCK_DRIFT either: the rebuilt row is the balance the movements give.
      await expectAutoResolved(c, row.id);
    });
  });

  it('OWNER_MIXING: the reception is cancelled and entered again as the partner’s; the alert resolves and the new entry raises nothing', async () => {
    await withDb('res_owner', async (c, app) => {
      const injected = await injectAnomaly(c, 'OWNER_MIXING');
      await sweep(app);
      const row = await openAlert(c, 'OWNER_MIXING');
      expect(row.entity_id).toBe(injected.entityId);
      const { rows } = await c.query('select citerne_id, produit_id, partenaire_id, index_avant, index_apres from public.receptions where id = $1', [
        injected.entityId,
      ]);
      const r = rows[0];
      await cancel(c, 'RECEPTION', injected.entityId, `[VOLUME] Réception partenaire enregistrée MONALUXE, annulée (alerte ${row.id})`);
      const again = await insertReception(c, { citerneId: r.citerne_id, produitId: r.produit_id, owner: 'PARTENAIRE', partenaireId: r.partenaire_id,
        indexAvant: r.index_avant, indexApres: r.index_apres, temperatureC: 26.5, densityKgM3: 838 });
      await sweep(app);
      await expectAutoResolved(c, row.id);
      expect((await alerts(c)).filter((a) => a.entity_id === again.id)).toEqual([]);
    });
  });

  it('PRODUCT_MIXING: the old product’s book remainder written off by the admin resolves it', async () => {
    await withDb('res_mixing', async (c, app) => {
      const injected = await injectAnomaly(c, 'PRODUCT_MIXING');
      await sweep(app);
      const row = await openAlert(c, 'PRODUCT_MIXING');
      expect(row.entity_id).toBe(injected.entityId);
      // The tank is now ESS; what is left of G.O, per owner, in the book (snapshot + adjustments).
      const { rows: keys } = await c.query(
        `select v.proprietaire_type as owner, v.stock_ambiant_base + v.delta_ambiant_total as amb, v.stock_15c_base + v.delta_15c_total as v15
           from public.v_stock_actuel v where v.citerne_id = $1 and v.produit_id = $2
            and (v.stock_ambiant_base + v.delta_ambiant_total > 0 or v.stock_15c_base + v.delta_15c_total > 0)`,
        [injected.entityId, PRODUIT_GO_ID],
      );
      expect(keys.length).toBeGreaterThanOrEqual(1);
      for (const k of keys) {
        const { rows } = await c.query(
          `select id from public.receptions where citerne_id = $1 and produit_id = $2 and proprietaire_type = $3 and statut = 'validee'
           order by created_at desc, id limit 1`,
          [injected.entityId, PRODUIT_GO_ID, k.owner],
        );
        await insertAdjustment(c, { mouvementType: 'RECEPTION', mouvementId: rows[0].id, deltaAmbiant: -k.amb, delta15c: -k.v15,
          reason: `[VOLUME] Reliquat de gasoil transféré avant passage à l'essence (alerte ${row.id})`, createdBy: ADMIN });
      }
      await sweep(app);
      await expectAutoResolved(c, row.id);
    });
  });

  it('PRODUCT_MIXING: a declared product changed by mistake and put back resolves it', async () => {
    await withDb('res_mixing_decl', async (c, app) => {
      const { rows } = await c.query(
        `select c.id from public.citernes c join public.stocks_snapshot s on s.citerne_id = c.id and s.produit_id = c.produit_id
          where c.produit_id = $1 and c.statut = 'active' and s.stock_ambiant > 1000 order by c.nom limit 1`,
        [PRODUIT_GO_ID],
      );
      const tank = rows[0].id;
      await c.query('update public.citernes set produit_id = $2 where id = $1', [tank, PRODUIT_ESS_ID]);
      await sweep(app);
      const row = await openAlert(c, 'PRODUCT_MIXING');
      expect(row.entity_id).toBe(tank);
      await c.query('update public.citernes set produit_id = $2 where id = $1', [tank, PRODUIT_GO_ID]);
      await sweep(app);
      await expectAutoResolved(c, row.id);
    });
  });

  it('SORTIE_INCOHERENTE: a sortie entered twice, cancelled by the stock delta that gives its volume back, resolves', async () => {
    await withDb('res_incoh', async (c, app) => {
      const injected = await injectAnomaly(c, 'SORTIE_INCOHERENTE');
      await sweep(app);
      const row = await openAlert(c, 'SORTIE_INCOHERENTE');
      expect(row.entity_id).toBe(injected.entityId);
      expect(row.payload.incoherences).toContain('date_future');
      await cancel(c, 'SORTIE', injected.entityId, `[VOLUME] Sortie saisie deux fois, annulée (alerte ${row.id})`);
      const { rows } = await c.query('select delta_ambiant, volume_ambiant from public.stocks_adjustments a join public.sorties_produit s on s.id = a.mouvement_id where s.id = $1', [
        injected.entityId,
      ]);
      // ML_PP's convention: the stock gets the sortie's volume back (+), v_stock_actuel adds it.
      expect(Number(rows[0].delta_ambiant)).toBeCloseTo(Number(rows[0].volume_ambiant), 3);
      await sweep(app);
      await expectAutoResolved(c, row.id);
    });
  });
});
