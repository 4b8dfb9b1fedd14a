import { CITERNE_IDS, generateOperations, injectAnomaly, insertAdjustment, insertReception, PRODUIT_GO_ID, USERS } from '@vigie/seed';
import { createTestDatabase, deletePrefix, type TestDatabase, testRedisUrl, uniquePrefix } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pipeline, startPipeline } from '../support/pipeline.js';
import { waitFor as waitUntil } from '../support/processes.js';

// End to end through the real services (listener + evaluator, in-process) on
// a database of its own and a queue prefix of its own.

let db: TestDatabase;
let c: pg.Client;
let prefix: string;
let pipeline: Pipeline | undefined;

const waitFor = <T>(fn: () => Promise<T | null | undefined | false>, what: string) => waitUntil(fn, { what, timeoutMs: 30_000, intervalMs: 50 });

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'int_e2e' });
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await generateOperations(c, { days: 10, seed: 3 });
  prefix = uniquePrefix('e2e');
  pipeline = await startPipeline({ databaseUrl: db.appUrl, redisUrl: testRedisUrl, prefix });
});
afterAll(async () => {
  await pipeline?.stop();
  await c?.end();
  await db?.drop();
  await deletePrefix(prefix);
});

describe('end to end', () => {
  it('an anomalous sortie opens its alert in seconds; the compensating adjustment resolves it', async () => {
    const t0 = Date.now();
    const injected = await injectAnomaly(c, 'SORTIE_STOCK_INSUFFISANT');
    const open = await waitFor(async () => {
      const { rows } = await c.query("select id, status from public.system_alerts where check_code = 'SORTIE_STOCK_INSUFFISANT' and entity_id = $1", [injected.entityId]);
      return rows[0]?.status === 'OPEN' ? rows[0] : null;
    }, 'alerte OPEN');
    const latency = Date.now() - t0;
    const tr = await c.query('select kind, source_event_at, at from vigie.alert_transitions where alert_id = $1 order by id', [open.id]);
    expect(tr.rows.map((r) => r.kind)).toEqual(['opened']);
    expect(tr.rows[0].source_event_at).not.toBeNull();
    // Timed from the anomaly's own event (not from an older event of the tank still waiting for its history rules).
    expect(new Date(tr.rows[0].source_event_at).getTime()).toBeGreaterThanOrEqual(t0);
    console.log(`[mesure] sortie anormale → alerte OPEN : ${latency} ms (capture de l’événement → OPEN ${new Date(tr.rows[0].at).getTime() - new Date(tr.rows[0].source_event_at).getTime()} ms)`);
    // The admin compensates: the sortie really took 8,000 L less from the book (adjustment on the sortie).
    await insertAdjustment(c, { mouvementType: 'SORTIE', mouvementId: injected.entityId, deltaAmbiant: 8_200, delta15c: 8_200,
      reason: '[VOLUME] Sortie corrigée : volume réellement chargé', createdBy: USERS.admin.userId });
    await waitFor(async () => {
      const { rows } = await c.query('select status, resolved_by from public.system_alerts where id = $1', [open.id]);
      return rows[0]?.status === 'RESOLVED' && rows[0].resolved_by === null;
    }, 'alerte RESOLVED');
    const after = await c.query('select kind from vigie.alert_transitions where alert_id = $1 order by id', [open.id]);
    expect(after.rows.map((r) => r.kind)).toEqual(['opened', 'resolved']);
  });

  it('coalesces a burst of 100 events on one tank into a few evaluations, with the final answer right', async () => {
    const scope = `citerne:${CITERNE_IDS.TANK4}`;
    const before = await c.query('select coalesce((select evaluations from vigie.eval_scopes where scope = $1), 0)::int as n', [scope]);
    const burst = [];
    for (let i = 0; i < 100; i++)
      burst.push(insertReception(c, { citerneId: CITERNE_IDS.TANK4, produitId: PRODUIT_GO_ID, owner: 'MONALUXE', indexAvant: 0, indexApres: 50, temperatureC: 25, densityKgM3: 835 }));
    await Promise.all(burst);
    await waitFor(async () => {
      const { rows } = await c.query('select count(*)::int as n from vigie.outbox where scope = $1 and processed_at is null', [scope]);
      return rows[0].n === 0;
    }, 'rafale traitée');
    const after = await c.query('select evaluations from vigie.eval_scopes where scope = $1', [scope]);
    const evaluations = Number(after.rows[0].evaluations) - Number(before.rows[0].n);
    console.log(`[mesure] 100 événements sur une citerne → ${evaluations} évaluation(s)`);
    expect(evaluations).toBeGreaterThanOrEqual(1);
    expect(evaluations).toBeLessThan(100);
    const { rows } = await c.query("select count(*)::int as n from public.system_alerts where status = 'OPEN' and payload ->> 'citerne_id' = $1", [CITERNE_IDS.TANK4]);
    expect(rows[0].n).toBe(0);
  });
});
