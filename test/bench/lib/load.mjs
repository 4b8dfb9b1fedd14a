// ML_PP's business writes at a steady rate, as its app makes them (one
// single-row INSERT per movement, autocommit), plus "probes": anomalous
// movements whose alert key is known, for time to detect.
//
// Background movements raise nothing: per (tank, owner) lane, a reception
// then a sortie of about the same volume, with temperature and density (the
// ASTM trigger computes the 15 °C volumes), the right beneficiary, in
// active tanks of the right product. Probes rotate over four rules and the
// six tanks, and leave each (tank, owner) stock where it was:
//   OWNER_MIXING         MONALUXE reception carrying a partner   (CRITICAL: Slack + on-call email)
//   SORTIE_ECART_15C     MONALUXE sortie, legacy 15 °C volume 7 % off
//   RECEPTION_ECART_15C  PARTENAIRE reception, legacy 15 °C volume 7 % off
//   SORTIE_INCOHERENTE   PARTENAIRE sortie dated two days ahead
// (the three WARN rules are routed to Slack by the bench's routing file).
import { CITERNE_IDS, CLIENTS, PARTENAIRES, PRODUIT_ESS_ID, PRODUIT_GO_ID } from '@vigie/seed';
import pg from 'pg';
import { sleep } from './stack.mjs';

export const TANKS = [
  { id: CITERNE_IDS.TANK1, produit: PRODUIT_GO_ID },
  { id: CITERNE_IDS.TANK2, produit: PRODUIT_GO_ID },
  { id: CITERNE_IDS.TANK3, produit: PRODUIT_GO_ID },
  { id: CITERNE_IDS.TANK4, produit: PRODUIT_GO_ID },
  { id: CITERNE_IDS.TANK5, produit: PRODUIT_ESS_ID },
  { id: CITERNE_IDS.TANK6, produit: PRODUIT_ESS_ID },
];
export const PROBE_CODES = ['OWNER_MIXING', 'SORTIE_ECART_15C', 'RECEPTION_ECART_15C', 'SORTIE_INCOHERENTE'];

const PARTNER = PARTENAIRES[0].id;
const CLIENT = CLIENTS[0].id;

const RECEPTION_SQL = `insert into public.receptions (citerne_id, produit_id, partenaire_id, proprietaire_type, index_avant, index_apres,
                                                     temperature_ambiante_c, densite_a_15, volume_15c, note)
                       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id`;
const SORTIE_SQL = `insert into public.sorties_produit (citerne_id, produit_id, client_id, partenaire_id, proprietaire_type, index_avant, index_apres,
                                                        temperature_ambiante_c, densite_a_15_kgm3, volume_corrige_15c, date_sortie, note)
                    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::timestamptz, now()), $12) returning id`;

let meterBase = 50_000_000 + Math.floor(Math.random() * 1_000_000) * 10;

/** One movement. Returns its id. Probes carry a note naming them (the database is the ground truth of what was injected). */
async function write(client, m, note = null) {
  const from = meterBase;
  meterBase += m.volume + 1;
  if (m.kind === 'reception') {
    const legacy = m.legacy15c !== undefined;
    const { rows } = await client.query(RECEPTION_SQL, [
      m.tank.id, m.tank.produit, m.owner === 'PARTENAIRE' || m.partnerOnMonaluxe ? PARTNER : null, m.owner, from, from + m.volume,
      legacy ? null : 25, legacy ? null : 835, legacy ? m.legacy15c : null, note,
    ]);
    return rows[0].id;
  }
  const legacy = m.legacyCorrige15c !== undefined;
  const { rows } = await client.query(SORTIE_SQL, [
    m.tank.id, m.tank.produit, m.owner === 'MONALUXE' ? CLIENT : null, m.owner === 'PARTENAIRE' ? PARTNER : null, m.owner, from, from + m.volume,
    legacy ? null : 25, legacy ? null : 835, legacy ? m.legacyCorrige15c : null, m.dateSortie ?? null, note,
  ]);
  return rows[0].id;
}

function probeMovement(n) {
  const code = PROBE_CODES[n % PROBE_CODES.length];
  const tank = TANKS[Math.floor(n / PROBE_CODES.length) % TANKS.length];
  const volume = 1_000;
  switch (code) {
    case 'OWNER_MIXING':
      return { code, kind: 'reception', tank, owner: 'MONALUXE', partnerOnMonaluxe: true, volume };
    case 'SORTIE_ECART_15C':
      return { code, kind: 'sortie', tank, owner: 'MONALUXE', volume, legacyCorrige15c: Math.round(volume * 0.93) };
    case 'RECEPTION_ECART_15C':
      return { code, kind: 'reception', tank, owner: 'PARTENAIRE', volume, legacy15c: Math.round(volume * 0.93 * 10) / 10 };
    default:
      return { code, kind: 'sortie', tank, owner: 'PARTENAIRE', volume, dateSortie: new Date(Date.now() + 2 * 86_400_000).toISOString() };
  }
}

/**
 * Runs `rate` movements per second (probes included) for `seconds`. A probe
 * goes out every `probeEveryMs` (0: none); with four rules in turn, each rule
 * fires every 4 × probeEveryMs, longer than the notifier's storm window, so
 * every probe is the first of its group and goes out at once. Every write of
 * a (tank, owner) goes through that pair's one connection, probes included,
 * as one operator's screen would (ML_PP's triggers lock the snapshot and
 * journal rows of the pair in opposite orders for receptions and sorties:
 * concurrent writers of one pair can deadlock, in ML_PP as here).
 * Returns what was written, with commit times.
 */
export async function runLoad(url, { rate, seconds, probeEveryMs = 0, stopSignal = null }) {
  const lanes = [];
  for (const tank of TANKS) for (const owner of ['MONALUXE', 'PARTENAIRE']) lanes.push({ tank, owner, next: 'reception', volume: 1_000, probes: [], wake: null });
  const laneOf = (m) => lanes.find((l) => l.tank.id === m.tank.id && l.owner === m.owner);
  const clients = new Set();
  // A lane's connection; reopened after a failure (the database restarting under chaos).
  const open = async () => {
    for (;;) {
      const c = new pg.Client({ connectionString: url, application_name: 'vigie-bench-load' });
      c.on('error', () => undefined);
      try {
        await c.connect();
        clients.add(c);
        return c;
      } catch {
        await c.end().catch(() => undefined);
        if (over()) return null;
        await sleep(250);
      }
    }
  };
  const probeRate = probeEveryMs > 0 ? 1000 / probeEveryMs : 0;
  const backgroundRate = Math.max(0, rate - probeRate);
  const perLane = backgroundRate / lanes.length;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const latencies = [];
  const probes = [];
  let writes = 0;
  let errors = 0;
  let lastError = null;
  let stopped = false;
  const over = () => performance.now() >= end || stopped || stopSignal?.stopped;

  const execute = async (lane, m) => {
    const s = performance.now();
    try {
      if (!lane.client) lane.client = await open();
      if (!lane.client) return false;
      const id = await write(lane.client, m, m.code ? `vigie-bench-probe:${m.code}` : null);
      const committedAt = Date.now();
      latencies.push(performance.now() - s);
      writes++;
      if (m.code) probes.push({ code: m.code, id, tank: m.tank.id, committedAt });
      return true;
    } catch (err) {
      errors++;
      lastError = err.message;
      // A broken connection is replaced; a refused write (a business rule) keeps it.
      if (!err.code || /^(08|57P)/.test(err.code)) {
        const c = lane.client;
        lane.client = null;
        clients.delete(c);
        await c?.end().catch(() => undefined);
        await sleep(100);
      }
      return false;
    }
  };

  const laneLoop = async (lane, i) => {
    lane.client = await open();
    const interval = perLane > 0 ? 1000 / perLane : Number.POSITIVE_INFINITY;
    let due = t0 + (i / lanes.length) * Math.min(interval, 1000);
    while (!over()) {
      const probe = lane.probes.shift();
      if (probe) {
        // A probe refused (the database restarting) is retried: it is the anomaly being injected.
        if (!(await execute(lane, probe)) && !over()) lane.probes.unshift(probe);
        continue;
      }
      const now = performance.now();
      const until = Math.min(due, end);
      if (until > now) {
        // Sleep until the next background write, or a probe for this pair.
        await new Promise((r) => {
          const t = setTimeout(r, until - now);
          lane.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        lane.wake = null;
        continue;
      }
      if (over()) break;
      if (perLane <= 0) {
        due = end;
        continue;
      }
      const m = { kind: lane.next, tank: lane.tank, owner: lane.owner, volume: lane.next === 'reception' ? lane.volume + 1 : lane.volume };
      // A sortie refused (stock) is followed by a reception.
      lane.next = (await execute(lane, m)) && lane.next === 'reception' ? 'sortie' : 'reception';
      due += interval;
      // Far behind: do not try to catch up more than one second of work.
      if (performance.now() - due > 1000) due = performance.now() - 1000;
    }
  };

  const probeTimer = probeEveryMs
    ? (() => {
        let n = 0;
        const tick = () => {
          if (over()) return;
          const m = probeMovement(n++);
          const lane = laneOf(m);
          lane.probes.push(m);
          lane.wake?.();
        };
        const first = setTimeout(() => {
          tick();
          timer.id = setInterval(tick, probeEveryMs);
        }, probeEveryMs / 2);
        const timer = { id: null, first };
        return timer;
      })()
    : null;
  try {
    await Promise.all(lanes.map(laneLoop));
  } finally {
    stopped = true;
    if (probeTimer) {
      clearTimeout(probeTimer.first);
      if (probeTimer.id) clearInterval(probeTimer.id);
    }
    await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
  }
  const elapsedS = (performance.now() - t0) / 1000;
  return { rate, seconds: elapsedS, writes, achieved: writes / elapsedS, errors, lastError, latencies, probes };
}

/**
 * What became of the probes: time to system_alerts OPEN (the `opened`
 * transition) and to the Slack message (the local Slack server's receipt,
 * matched through the notifier's ledger). Waits up to `timeoutMs` for the
 * stragglers.
 */
export async function probeOutcomes(url, slack, channels, probes, { timeoutMs = 30_000 } = {}) {
  const c = new pg.Client({ connectionString: url, application_name: 'vigie-bench' });
  await c.connect();
  try {
    const ids = probes.map((p) => p.id);
    const deadline = Date.now() + timeoutMs;
    let rows = [];
    for (;;) {
      ({ rows } = await c.query(
        `select a.entity_id::text as id, a.check_code,
                extract(epoch from t.at) * 1000 as opened_ms,
                a.id::text as alert_id, t.id as transition_id,
                (select extract(epoch from n.planned_at) * 1000 from vigie.notify_transitions n where n.transition_id = t.id) as planned_ms,
                (select d.provider_ts from vigie.deliveries d
                  where d.alert_id = a.id and d.channel = 'slack' and d.action = 'post' and d.status = 'sent' order by d.id limit 1) as slack_ts,
                (select d.recipient from vigie.deliveries d
                  where d.alert_id = a.id and d.channel = 'slack' and d.action = 'post' and d.status = 'sent' order by d.id limit 1) as slack_channel
           from public.system_alerts a
           left join lateral (select t.id, t.at from vigie.alert_transitions t where t.alert_id = a.id and t.kind = 'opened' order by t.id limit 1) t on true
          where a.entity_id = any ($1::uuid[])`,
        [ids],
      ));
      const done = rows.filter((r) => r.opened_ms !== null && r.slack_ts !== null).length;
      if (done >= ids.length || Date.now() > deadline) break;
      await sleep(250);
    }
    // When the listener dispatched the movement's event, and the opened transition's event.
    const { rows: ev } = await c.query(
      `select o.entity_id, o.kind, (o.payload ->> 'transition_id')::bigint as transition_id, extract(epoch from o.dispatched_at) * 1000 as dispatched_ms
         from vigie.outbox o
        where (o.kind in ('reception.created', 'sortie.created') and o.entity_id = any ($1::text[]))
           or (o.kind = 'alert.transition' and o.entity_id = any ($2::text[]))`,
      [ids, rows.map((r) => r.alert_id)],
    );
    const movementDispatched = new Map(ev.filter((e) => e.kind !== 'alert.transition').map((e) => [e.entity_id, e.dispatched_ms]));
    const transitionDispatched = new Map(ev.filter((e) => e.kind === 'alert.transition').map((e) => [String(e.transition_id), e.dispatched_ms]));
    for (const r of rows) {
      r.dispatched_ms = movementDispatched.get(r.id) ?? null;
      r.tr_dispatched_ms = r.transition_id != null ? (transitionDispatched.get(String(r.transition_id)) ?? null) : null;
    }
    // The Slack server's receipt time of each top-level message, by channel and ts.
    const receivedAt = new Map();
    for (const ch of channels) {
      const msgs = slack.messages(ch);
      const calls = slack.calls.filter((x) => x.method === 'chat.postMessage' && x.ok && x.args.channel === ch && !x.args.thread_ts);
      msgs.forEach((m, i) => {
        if (calls[i]) receivedAt.set(`${ch}|${m.ts}`, calls[i].at.getTime());
      });
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    return probes.map((p) => {
      const r = byId.get(p.id);
      const slackAt = r?.slack_ts ? receivedAt.get(`${r.slack_channel}|${r.slack_ts}`) : undefined;
      const at = (v) => (v != null ? Number(v) - p.committedAt : null);
      return {
        ...p,
        alerted: !!r,
        openMs: at(r?.opened_ms),
        slackMs: slackAt !== undefined ? slackAt - p.committedAt : null,
        // Where the time went (ms after the commit, each stage's end).
        stages: { dispatched: at(r?.dispatched_ms), opened: at(r?.opened_ms), transitionDispatched: at(r?.tr_dispatched_ms), planned: at(r?.planned_ms), slack: slackAt !== undefined ? slackAt - p.committedAt : null },
      };
    });
  } finally {
    await c.end();
  }
}

/** Samples the end-to-end lag: age of the oldest event not yet processed, and how many. */
export function lagSampler(url, everyMs = 500) {
  const samples = [];
  const c = new pg.Client({ connectionString: url, application_name: 'vigie-bench-lag' });
  let timer = null;
  let busy = false;
  return {
    samples,
    async start() {
      await c.connect();
      timer = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const { rows } = await c.query(
            `select coalesce(extract(epoch from clock_timestamp() - min(created_at)), 0)::float8 as lag, count(*)::int as pending
               from vigie.outbox where processed_at is null`,
          );
          samples.push({ at: Date.now(), lagS: rows[0].lag, pending: rows[0].pending });
        } catch {
          // sampling is best effort
        } finally {
          busy = false;
        }
      }, everyMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await c.end().catch(() => undefined);
    },
  };
}

/** Waits until every outbox event is processed; returns the seconds it took (null on timeout). */
export async function waitDrained(url, timeoutMs = 120_000) {
  const c = new pg.Client({ connectionString: url, application_name: 'vigie-bench' });
  await c.connect();
  const t0 = Date.now();
  try {
    for (;;) {
      const { rows } = await c.query('select count(*)::int as n from vigie.outbox where processed_at is null');
      if (rows[0].n === 0) return (Date.now() - t0) / 1000;
      if (Date.now() - t0 > timeoutMs) return null;
      await sleep(200);
    }
  } finally {
    await c.end();
  }
}
