#!/usr/bin/env node
// Renders a bench results file (and optionally a chaos results file) as the
// Markdown tables of docs/benchmarks.md:
//   node test/bench/report.mjs bench-results/latest.json [bench-results/chaos-….json]
import { readFileSync } from 'node:fs';
import { fmt, fmtRatio, ratio, table } from './lib/stats.mjs';

const [benchFile, chaosFile] = process.argv.slice(2);
if (!benchFile) {
  console.error('usage: node test/bench/report.mjs <bench results.json> [chaos results.json]');
  process.exit(2);
}
const r = JSON.parse(readFileSync(benchFile, 'utf8'));
const out = [];
const m = r.machine;
out.push(`Run of ${r.startedAt} (${r.durationS} s), \`--scale ${r.options.scale}\`: ${r.database.movements.toLocaleString('en-US')} movements ` +
  `(${r.database.receptions.toLocaleString('en-US')} receptions, ${r.database.sorties.toLocaleString('en-US')} sorties, ${r.database.adjustments.toLocaleString('en-US')} adjustments).`);
out.push(`Machine: ${m.cpuModel}, ${m.cores} cores shared by PostgreSQL, Redis and every Node process, ${m.memoryGb} GB; Node ${m.node}; Redis ${m.redis}; ${m.postgres.split(' on ')[0]}. ` +
  `Load average (1/5/15 min) ${m.loadAverageAtStart.join(' / ')} at the start, ${m.loadAverageAtEnd?.join(' / ') ?? '—'} at the end (the machine is shared with other engineers' test runs).`);

const f = r.floors;
const pipeP50 = f?.pipeline.steady.p50 ?? null;
const pipeP99 = f?.pipeline.steady.p99 ?? null;
if (f) {
  out.push(
    table('**[6] Floors** (no Vigie logic; same run)', [['Measure', 'what'], ['p50 ms', (x) => fmt(x.p50, 2)], ['p99 ms', (x) => fmt(x.p99, 2)], ['Throughput', 'rate']], [
      { what: 'raw NOTIFY → LISTEN', p50: f.notify.p50, p99: f.notify.p99, rate: '—' },
      { what: 'raw BullMQ add → process', p50: f.bullmq.p50, p99: f.bullmq.p99, rate: `${Math.round(f.bullmq.jobsPerS)} jobs/s drained by one worker` },
      {
        what: `bare pipeline at ${f.pipeline.steady.rate} events/s (trigger → outbox + NOTIFY → LISTEN → BullMQ → 1 select → HTTP POST)`,
        p50: pipeP50,
        p99: pipeP99,
        rate: f.pipeline.saturationEventsPerS ? `keeps up to ${f.pipeline.saturationEventsPerS} events/s, saturated at the next step` : '—',
      },
    ]),
  );
}
if (r.detect) {
  out.push(
    table(
      '**[1] Time to detect**: commit of the business write → Slack message received by the local Slack server (and → system_alerts OPEN)',
      [
        ['Rate mvt/s (written)', (x) => `${x.rate} (${x.achieved})`],
        ['Probes', (x) => `${x.delivered}/${x.probes}`],
        ['Slack p50', (x) => fmt(x.slack.p50)],
        ['p95', (x) => fmt(x.slack.p95)],
        ['p99', (x) => fmt(x.slack.p99)],
        ['OPEN p50', (x) => fmt(x.open.p50)],
        ['OPEN p99', (x) => fmt(x.open.p99)],
        ['p50 / floor', (x) => fmtRatio(ratio(x.slack.p50, pipeP50))],
        ['p99 / floor', (x) => fmtRatio(ratio(x.slack.p99, pipeP99))],
        ['Target', (x) => (x.rate === 100 ? 'p50 ≤ 15, p99 ≤ 50' : x.rate === 500 ? 'p99 ≤ 250' : '—')],
      ],
      r.detect,
    ),
  );
  out.push(
    table(
      'Where the time goes (medians, ms after the commit, at the end of each stage)',
      [
        ['Rate', 'rate'],
        ['listener dispatched the event', (x) => fmt(x.stagesP50.dispatched)],
        ['evaluator: alert OPEN', (x) => fmt(x.stagesP50.opened)],
        ['listener dispatched the transition', (x) => fmt(x.stagesP50.transitionDispatched)],
        ['notifier planned it', (x) => fmt(x.stagesP50.planned)],
        ['Slack received it', (x) => fmt(x.stagesP50.slack)],
        ['business insert p50', (x) => fmt(x.insertMs.p50)],
      ],
      r.detect,
    ),
  );
}
if (r.throughput) {
  const t = r.throughput;
  out.push(
    table(
      `**[2] Throughput**: highest rate with bounded lag and nothing lost: **${t.sustained ?? '—'} movements/s** (target ≥ 1,000); a backlog worked off with the machine to itself: **${t.catchUp?.movementsPerS ?? '—'} movements/s** (${t.catchUp?.movements ?? '—'} movements in ${fmt(t.catchUp?.seconds, 1)} s)`,
      [
        ['Asked mvt/s', 'rate'],
        ['Written/s', 'achieved'],
        ['insert p50 ms', (x) => fmt(x.insertMs.p50)],
        ['max lag s', (x) => fmt(x.maxLagS, 2)],
        ['lag, 2nd half s', (x) => fmt(x.lateLagS, 2)],
        ['max pending events', 'maxPending'],
        ['drained after s', (x) => fmt(x.drainedAfterS, 1)],
        ['probes lost', (x) => `${x.lost}/${x.probes}`],
        ['Slack p99 ms', (x) => fmt(x.slack.p99)],
        ['Vigie kept up', (x) => (x.keptUp ? 'yes' : 'no')],
        ['writes at the rate asked', (x) => (x.writesKept ? 'yes' : 'no')],
      ],
      t.steps,
    ),
  );
}
if (r.triggers) {
  out.push(
    table(
      '**[3] Cost of Vigie\'s triggers on ML_PP\'s writes** (same single-row inserts, one connection, triggers enabled / disabled in alternating rounds of the same run; target ≤ ×1.10)',
      [
        ['Write', 'kind'],
        ['without p50 ms', (x) => fmt(x.without.p50, 2)],
        ['with p50 ms', (x) => fmt(x.with.p50, 2)],
        ['without p99', (x) => fmt(x.without.p99, 2)],
        ['with p99', (x) => fmt(x.with.p99, 2)],
        ['ratio p50', (x) => fmtRatio(x.ratioP50)],
        ['ratio mean', (x) => fmtRatio(x.ratioMean)],
        ...(r.triggers.reception.ratioPairedMedian !== undefined ? [['median of paired rounds', (x) => fmtRatio(x.ratioPairedMedian)]] : []),
      ],
      ['reception', 'sortie'].map((k) => ({ kind: k, ...r.triggers[k] })),
    ),
  );
}
if (r.sweep) {
  const s = r.sweep;
  out.push(
    table('**[4] Sweep** against `select * from v_integrity_checks` on the same data (medians of 5 alternating runs; target ≤ ×1)', [['Measure', 'what'], ['ms', (x) => fmt(x.ms)], ['ratio', 'ratio']], [
      { what: 'V1: select * from v_integrity_checks (5 rules, as the owner)', ms: s.v1.p50, ratio: '×1' },
      { what: 'vigie sweep (13 rules + reconciliation of system_alerts, as vigie_app)', ms: s.sweep.p50, ratio: fmtRatio(s.ratioP50) },
      { what: 'vigie sweep --full (every movement re-judged, day cache rebuilt)', ms: s.fullSweepMs, ratio: fmtRatio(ratio(s.fullSweepMs, s.v1.p50)) },
    ]),
  );
}
if (r.memory) {
  out.push(
    table('**[5] Resident memory** (VmRSS; target ≤ 150 MB per service)', [['Service', 'name'], ['at rest MB', (x) => fmt(x.restMb)], ['under load, max MB', (x) => fmt(x.loadMaxMb)], ['CPU during [1]+[2] s', (x) => fmt(x.cpuS)]],
      Object.entries(r.memory).map(([name, v]) => ({ name, ...v })),
    ),
  );
}
if (chaosFile) {
  const c = JSON.parse(readFileSync(chaosFile, 'utf8'));
  out.push(`Chaos run of ${c.startedAt}: ${c.options.duration} s of load at ${c.options.rate} movements/s, one anomaly every ${c.options.probeEveryMs} ms, on a private ${c.postgres}.`);
  out.push(table('Faults', [['t (s)', 'at'], ['Fault', 'fault'], ['done', (x) => (x.ok ? 'yes' : `no: ${x.error}`)]], c.faults));
  out.push(
    table('Anomalies injected, alerts opened, notifications delivered', [['Rule', 'code'], ['injected', 'injected'], ['alerts OPEN', 'opened'], ['Slack messages', 'slack'], ['emails', 'emails']], [
      ...c.byRule,
      { code: 'total', injected: c.injected, opened: c.opened, slack: c.byRule.reduce((n, x) => n + x.slack, 0), emails: c.byRule.reduce((n, x) => n + x.emails, 0) },
    ]),
  );
  out.push(
    table('Lost and duplicated (both must be 0)', [['', 'what'], ['alerts', 'alerts'], ['Slack', 'slack'], ['emails', 'email'], ['total', 'total']], [
      { what: 'lost', alerts: c.lost.alerts, slack: c.lost.slack, email: c.lost.email, total: c.lostTotal },
      { what: 'duplicated', alerts: c.duplicated.transitions, slack: c.duplicated.slack, email: c.duplicated.email, total: c.duplicatedTotal },
    ]),
  );
  out.push(
    `The faults hit work in flight: ${c.slackCallsFailedByFaults} Slack calls answered 429/5xx, ${c.deliveriesRetried.slack?.retried ?? 0} Slack and ${c.deliveriesRetried.email?.retried ?? 0} email deliveries retried, ` +
      `${c.outboxEventsDispatchedAgain} of ${c.outboxEvents} outbox events dispatched again; ${c.load.refused} business writes refused while PostgreSQL was down.`,
  );
}
console.log(out.join('\n\n'));
