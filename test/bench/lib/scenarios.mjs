// The measurements that need no running service: trigger overhead and sweep time.
import { sweep } from '@vigie/rules';
import pg from 'pg';
import { TANKS } from './load.mjs';
import { summary } from './stats.mjs';

/**
 * The cost of Vigie's capture triggers on ML_PP's own writes: the same
 * single-row reception and sortie INSERTs, one at a time on one connection,
 * in alternating rounds with Vigie's triggers enabled and disabled
 * (ALTER TABLE … DISABLE TRIGGER zz_vigie_*), in the same run. Services are
 * not running; the events written are marked processed afterwards. The
 * headline ratio is the median, over consecutive (on, off) pairs of rounds,
 * of their p50 ratio: a burst of outside load then spoils one pair, not the
 * result.
 */
export async function triggerOverhead(url, { rounds = 40, pairsPerRound = 30, log = () => {} } = {}) {
  const c = new pg.Client({ connectionString: url, application_name: 'vigie-bench-triggers' });
  await c.connect();
  const { rows: trg } = await c.query(
    `select tgrelid::regclass::text as tbl, tgname from pg_trigger
      where tgname like 'zz\\_vigie\\_%' and not tgisinternal
        and tgrelid in ('public.receptions'::regclass, 'public.sorties_produit'::regclass, 'public.log_actions'::regclass)`,
  );
  const setTriggers = async (on) => {
    for (const t of trg) await c.query(`alter table ${t.tbl} ${on ? 'enable' : 'disable'} trigger ${t.tgname}`);
  };
  const { rows: mark } = await c.query('select coalesce(max(id), 0)::bigint as m from vigie.outbox');
  const lat = { on: { reception: [], sortie: [] }, off: { reception: [], sortie: [] } };
  // Per round: its state and the p50 of each kind of write.
  const perRound = [];
  let meter = 90_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
  const tank = TANKS[0];
  try {
    // Warm-up, both ways.
    for (const on of [true, false]) {
      await setTriggers(on);
      for (let i = 0; i < 30; i++) {
        meter += 2_100;
        await pair(c, tank, meter, null);
      }
    }
    for (let r = 0; r < rounds; r++) {
      // ABBA order, so that drift (cache, autovacuum) does not favour one side.
      const on = r % 4 === 0 || r % 4 === 3;
      await setTriggers(on);
      const round = { reception: [], sortie: [] };
      for (let i = 0; i < pairsPerRound; i++) {
        meter += 2_100;
        await pair(c, tank, meter, round);
      }
      for (const k of ['reception', 'sortie']) lat[on ? 'on' : 'off'][k].push(...round[k]);
      perRound.push({ on, reception: summary(round.reception).p50, sortie: summary(round.sortie).p50 });
    }
  } finally {
    await setTriggers(true);
    // The events of this measurement are not part of what the services will be measured on.
    await c.query('update vigie.outbox set dispatched_at = coalesce(dispatched_at, clock_timestamp()), processed_at = clock_timestamp() where id > $1 and processed_at is null', [mark[0].m]);
    await c.end();
  }
  const out = {};
  for (const kind of ['reception', 'sortie']) {
    const on = summary(lat.on[kind]);
    const off = summary(lat.off[kind]);
    const paired = [];
    for (let i = 0; i + 1 < perRound.length; i += 2) {
      const [a, b] = [perRound[i], perRound[i + 1]];
      const [w, wo] = a.on ? [a, b] : [b, a];
      if (w.on !== wo.on) paired.push(w[kind] / wo[kind]);
    }
    const ratioPaired = summary(paired).p50;
    out[kind] = { with: on, without: off, ratioP50: on.p50 / off.p50, ratioMean: on.mean / off.mean, ratioPairedMedian: ratioPaired, pairs: paired.length };
    log(`    ${kind} : ${off.p50?.toFixed(2)} ms sans, ${on.p50?.toFixed(2)} ms avec (p50) → ×${(on.p50 / off.p50).toFixed(3)} ; médiane des ${paired.length} paires de tours ×${ratioPaired?.toFixed(3)}`);
  }
  out.triggers = trg.map((t) => `${t.tbl}.${t.tgname}`);
  return out;
}

async function pair(c, tank, from, sink) {
  let t = performance.now();
  await c.query(
    `insert into public.receptions (citerne_id, produit_id, proprietaire_type, index_avant, index_apres, temperature_ambiante_c, densite_a_15)
     values ($1, $2, 'MONALUXE', $3, $4, 25, 835)`,
    [tank.id, tank.produit, from, from + 1_001],
  );
  if (sink) sink.reception.push(performance.now() - t);
  t = performance.now();
  await c.query(
    `insert into public.sorties_produit (citerne_id, produit_id, client_id, proprietaire_type, index_avant, index_apres, temperature_ambiante_c, densite_a_15_kgm3)
     values ($1, $2, '44444444-4444-4444-8444-000000000001', 'MONALUXE', $3, $4, 25, 835)`,
    [tank.id, tank.produit, from + 1_010, from + 2_010],
  );
  if (sink) sink.sortie.push(performance.now() - t);
}

/**
 * Vigie's sweep (every rule over everything, then reconciliation of
 * system_alerts, as the evaluator runs it, as vigie_app) against a plain
 * `select * from v_integrity_checks` (ML_PP's V1, as the owner), on the same
 * data, alternately, `runs` times each. Also one full sweep (it re-judges
 * every movement and rebuilds the cache of closed days).
 */
export async function sweepVsV1(ownerUrl, appUrl, { runs = 5, full = true, log = () => {} } = {}) {
  const app = new pg.Client({ connectionString: appUrl, application_name: 'vigie-bench-sweep' });
  const owner = new pg.Client({ connectionString: ownerUrl, application_name: 'vigie-bench-v1' });
  await app.connect();
  await owner.connect();
  const mine = [];
  const v1 = [];
  let findings = 0;
  let v1Rows = 0;
  try {
    // Warm-up (plans, caches) both ways.
    await sweep(app, {});
    await owner.query('select * from public.v_integrity_checks');
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const res = await sweep(app, {});
      mine.push(performance.now() - t);
      findings = res.findings.length;
      t = performance.now();
      const r = await owner.query('select * from public.v_integrity_checks');
      v1.push(performance.now() - t);
      v1Rows = r.rowCount ?? 0;
    }
    let fullMs = null;
    if (full) {
      const t = performance.now();
      await sweep(app, { full: true });
      fullMs = performance.now() - t;
    }
    const s = summary(mine);
    const v = summary(v1);
    log(`    balayage ${s.p50?.toFixed(0)} ms, V1 ${v.p50?.toFixed(0)} ms (médianes) → ×${(s.p50 / v.p50).toFixed(2)}${fullMs ? `; balayage complet ${fullMs.toFixed(0)} ms` : ''}`);
    return { sweep: s, v1: v, ratioP50: s.p50 / v.p50, fullSweepMs: fullMs, findings, v1Rows };
  } finally {
    await app.end();
    await owner.end();
  }
}
