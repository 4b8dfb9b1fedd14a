#!/usr/bin/env node
// npm run chaos [-- options]
//
// Under a steady load of ML_PP business writes with anomalies injected, the
// faults Vigie must survive, on a system of its own: a private PostgreSQL
// cluster (initdb in a temporary directory — the machine's shared cluster is
// never restarted), a private redis-server, the local Slack and SMTP test
// servers, and the three services as child processes. Then it counts
// anomalies injected, alerts opened and notifications delivered (Slack
// messages and emails per alert, from the test servers' records and the
// notifier's ledger), and prints what was lost and what was duplicated.
// Both must be 0; the exit code is 1 otherwise.
//
// Faults, in turn over the run: kill -9 of the listener, the evaluator and
// the notifier (each twice, restarted 2 s later), FLUSHALL of Redis (twice),
// an immediate restart of PostgreSQL, Slack answering 429 then 5xx for
// --slack-outage-s, the SMTP server stopped for --smtp-outage-s.
//
// Options:
//   --duration S         seconds of load with faults (default 180)
//   --rate N             business movements per second (default 20)
//   --probe-every-ms N   one anomaly every N ms (default 1500)
//   --slack-outage-s S   Slack answers 429 then 5xx for S seconds (default 60)
//   --smtp-outage-s S    SMTP server down for S seconds (default 30)
//   --scale N            movements in the seeded database (default 5000)
//   --settle-s S         how long to wait for the system to catch up afterwards (default 240)
//   --out DIR            results directory (default bench-results)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureTemplate, freshCopy } from '../bench/lib/db.mjs';
import { PROBE_CODES, runLoad } from '../bench/lib/load.mjs';
import { repoRoot, sleep, startStack } from '../bench/lib/stack.mjs';
import { table } from '../bench/lib/stats.mjs';
import { startPrivatePostgres } from './pg.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '180' },
    rate: { type: 'string', default: '20' },
    'probe-every-ms': { type: 'string', default: '1500' },
    'slack-outage-s': { type: 'string', default: '60' },
    'smtp-outage-s': { type: 'string', default: '30' },
    scale: { type: 'string', default: '5000' },
    'settle-s': { type: 'string', default: '240' },
    out: { type: 'string', default: 'bench-results' },
  },
  strict: true,
});
const duration = Number(values.duration);
const rate = Number(values.rate);
const probeEveryMs = Number(values['probe-every-ms']);
const slackOutageS = Number(values['slack-outage-s']);
const smtpOutageS = Number(values['smtp-outage-s']);
const scale = Number(values.scale);
const settleS = Number(values['settle-s']);
const log = (...a) => console.log(...a);
/** Alerts of these rules go to Slack and to the on-call email; the others to Slack only (the bench's routing file). */
const EMAIL_CODES = new Set(['OWNER_MIXING']);

async function main() {
  const t0 = Date.now();
  const stamp = () => `${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s`;
  log(`Vigie chaos — ${duration} s de charge à ${rate} mvt/s, une anomalie toutes les ${probeEveryMs} ms`);
  log('PostgreSQL privé (initdb)…');
  const pgsrv = await startPrivatePostgres();
  let stack = null;
  const faults = [];
  const result = { startedAt: new Date().toISOString(), options: { duration, rate, probeEveryMs, slackOutageS, smtpOutageS, scale } };
  try {
    log(`  ${pgsrv.version} sur le port ${pgsrv.port} (${pgsrv.dir})`);
    const template = await ensureTemplate(scale, { base: pgsrv.url, log });
    const db = await freshCopy(template, 'vigie_chaos', { base: pgsrv.url });
    stack = await startStack({
      appUrl: db.appUrl,
      prefix: 'vigie',
      env: {
        // The safety nets, tightened so that a run converges in minutes.
        VIGIE_POLL_INTERVAL_MS: '500',
        VIGIE_REDISPATCH_AFTER_S: '30',
        VIGIE_RETRY_MAX_S: '5',
        VIGIE_TICK_S: '2',
      },
      log,
    });
    const { slack, smtp, redis } = stack;

    // ------------------------------------------------------------- faults
    const at = (s) => Math.round((s / 180) * duration * 1000);
    const fault = (name, fn) => async () => {
      const started = Date.now();
      log(`  ${stamp()}  ${name}`);
      try {
        await fn();
        faults.push({ at: Math.round((started - t0) / 1000), fault: name, ok: true, ms: Date.now() - started });
      } catch (err) {
        faults.push({ at: Math.round((started - t0) / 1000), fault: name, ok: false, error: err.message });
        log(`  ${stamp()}  ${name} : ÉCHEC ${err.message}`);
      }
    };
    const killAndRestart = (svc) =>
      fault(`kill -9 ${svc}, redémarré 2 s plus tard`, async () => {
        await stack.kill(svc);
        await sleep(2_000);
        await stack.start(svc);
      });
    const plan = [
      [15, killAndRestart('listener')],
      [30, killAndRestart('evaluator')],
      [45, killAndRestart('notifier')],
      [60, fault('FLUSHALL Redis', () => redis.flushall())],
      [75, fault('PostgreSQL redémarré (arrêt immediate, 2 s)', () => pgsrv.restart({ downMs: 2_000 }))],
      [
        90,
        fault(`Slack : 429 puis 5xx pendant ${slackOutageS} s`, async () => {
          slack.setOutage((slackOutageS / 2) * 1000, { status: 429, retryAfter: 1 });
          setTimeout(() => slack.setOutage((slackOutageS / 2) * 1000, { status: 503 }), (slackOutageS / 2) * 1000).unref();
        }),
      ],
      [
        95,
        fault(`SMTP arrêté pendant ${smtpOutageS} s`, async () => {
          await smtp.stop();
          setTimeout(() => void smtp.restart().then(() => log(`  ${stamp()}  SMTP de retour`)), smtpOutageS * 1000).unref();
        }),
      ],
      [105, killAndRestart('listener')],
      [120, killAndRestart('evaluator')],
      [135, killAndRestart('notifier')],
      [150, fault('FLUSHALL Redis', () => redis.flushall())],
    ];
    const loadStart = Date.now();
    const timeline = (async () => {
      for (const [s, run] of plan) {
        const wait = loadStart + at(s) - Date.now();
        if (wait > 0) await sleep(wait);
        await run();
      }
    })();

    log(`\n${stamp()}  charge démarrée`);
    const load = await runLoad(db.url, { rate, seconds: duration + 20, probeEveryMs });
    await timeline;
    log(`${stamp()}  charge arrêtée : ${load.writes} écritures (${load.errors} refusées pendant les pannes), ${load.probes.length} anomalies confirmées au client`);

    // ------------------------------------------------------ convergence
    const pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'vigie-chaos' });
    pool.on('error', () => undefined);
    const count = async () => {
      const { rows } = await pool.query(
        `with probes as (
           select id, substr(note, length('vigie-bench-probe:') + 1) as code from public.receptions where note like 'vigie-bench-probe:%'
           union all
           select id, substr(note, length('vigie-bench-probe:') + 1) from public.sorties_produit where note like 'vigie-bench-probe:%'
         )
         select p.id::text, p.code, a.id::text as alert_id, a.status,
                (select count(*) from vigie.alert_transitions t where t.alert_id = a.id and t.kind = 'opened')::int as opened,
                (select count(*) from vigie.deliveries d where d.alert_id = a.id and d.channel = 'slack' and d.action = 'post' and d.status = 'sent')::int as slack_sent,
                (select count(*) from vigie.deliveries d where d.alert_id = a.id and d.channel = 'email' and d.status = 'sent')::int as email_sent,
                (select count(*) from vigie.deliveries d where d.alert_id = a.id and d.status = 'pending')::int as pending,
                (select array_agg(distinct d.group_id) from vigie.deliveries d where d.alert_id = a.id and d.reason = 'grouped') as groups
           from probes p
           left join public.system_alerts a on a.entity_id = p.id and a.check_code = p.code`,
      );
      const { rows: ob } = await pool.query('select count(*)::int as n from vigie.outbox where processed_at is null');
      const { rows: rt } = await pool.query(
        'select channel, count(*) filter (where attempts > 1)::int as retried, count(*)::int as n from vigie.deliveries group by channel',
      );
      const { rows: rp } = await pool.query('select count(*) filter (where dispatch_count > 1)::int as redispatched, count(*)::int as n from vigie.outbox');
      return { probes: rows, unprocessed: ob[0].n, retried: rt, outbox: rp[0] };
    };
    const deadline = Date.now() + settleS * 1000;
    let snap;
    for (;;) {
      try {
        snap = await count();
        const waiting = snap.probes.filter((p) => !p.alert_id || p.pending > 0 || (p.slack_sent === 0 && !p.groups)).length;
        if ((waiting === 0 && snap.unprocessed === 0) || Date.now() > deadline) break;
      } catch {
        // the database may still be recovering
      }
      await sleep(1_000);
    }
    log(`${stamp()}  système rattrapé${Date.now() > deadline ? ' (délai dépassé)' : ''} : ${snap.unprocessed} événement(s) non traité(s)`);
    await sleep(2_000);

    // ------------------------------------------------------------ counts
    const groupMessages = new Map();
    const slackTop = [];
    for (const call of slack.calls) if (call.method === 'chat.postMessage' && call.ok && !call.args.thread_ts) slackTop.push(call);
    // Messages as the channel shows them (one per successful top-level post).
    const channels = new Set(slackTop.map((c) => String(c.args.channel)));
    const messages = [...channels].flatMap((ch) => slack.messages(ch));
    const text = (m) => `${m.text} ${JSON.stringify(m.blocks)}`;
    for (const m of messages) {
      const g = /groupe-(\d+)/.exec(text(m));
      if (g) groupMessages.set(g[1], (groupMessages.get(g[1]) ?? 0) + 1);
    }
    const mails = smtp.mails;
    const perAlert = snap.probes.map((p) => {
      const id = p.alert_id;
      const own = id ? messages.filter((m) => text(m).includes(id)).length : 0;
      const viaGroup = (p.groups ?? []).reduce((n, g) => n + (groupMessages.get(String(g)) ?? 0), 0);
      const ownMails = id ? mails.filter((m) => m.text.includes(id) || m.html.includes(id)) : [];
      const mailsOwn = ownMails.length;
      // Copies of one delivery sent again after an unknown outcome carry the same Message-ID.
      const sameIdCopies = ownMails.length - new Set(ownMails.map((m) => m.messageId)).size;
      const mailsGroup = (p.groups ?? []).reduce((n, g) => n + mails.filter((m) => m.text.includes(`groupe-${g}`)).length, 0);
      return { ...p, slackReceived: own + viaGroup, emailsReceived: mailsOwn + mailsGroup, sameIdCopies, emailExpected: EMAIL_CODES.has(p.code) ? 1 : 0 };
    });
    const injected = perAlert.length;
    const opened = perAlert.filter((p) => p.alert_id && p.opened >= 1).length;
    const slackDelivered = perAlert.filter((p) => p.slackReceived >= 1).length;
    const emailsExpected = perAlert.filter((p) => p.emailExpected).length;
    const emailsDelivered = perAlert.filter((p) => p.emailExpected && p.emailsReceived >= 1).length;
    const lost = {
      alerts: injected - opened,
      slack: perAlert.filter((p) => p.slackReceived === 0).length,
      email: perAlert.filter((p) => p.emailExpected && p.emailsReceived === 0).length,
    };
    const duplicated = {
      transitions: perAlert.reduce((n, p) => n + Math.max(0, p.opened - 1), 0),
      slack: perAlert.reduce((n, p) => n + Math.max(0, p.slackReceived - 1), 0),
      email: perAlert.reduce((n, p) => n + Math.max(0, p.emailsReceived - p.emailExpected), 0),
    };
    // Of the duplicated emails, those that are the same message again (same Message-ID): an SMTP server that took
    // the message but whose "250 OK" never arrived (stopped, or the notifier killed in between), so it was sent again.
    const sameMessageId = perAlert.reduce((n, p) => n + p.sameIdCopies, 0);
    const lostTotal = lost.alerts + lost.slack + lost.email;
    const dupTotal = duplicated.transitions + duplicated.slack + duplicated.email;
    const slackFaults = slack.calls.filter((c) => !c.ok).length;
    Object.assign(result, {
      faults,
      load: { writes: load.writes, refused: load.errors, lastRefusal: load.lastError, probesConfirmedByClient: load.probes.length },
      injected,
      byRule: PROBE_CODES.map((code) => {
        const of = perAlert.filter((p) => p.code === code);
        return { code, injected: of.length, opened: of.filter((p) => p.opened >= 1).length, slack: of.reduce((n, p) => n + p.slackReceived, 0), emails: of.reduce((n, p) => n + p.emailsReceived, 0) };
      }),
      opened,
      slackDelivered,
      emailsExpected,
      emailsDelivered,
      lost,
      duplicated,
      lostTotal,
      duplicatedTotal: dupTotal,
      duplicatedEmailsSameMessageId: sameMessageId,
      slackCalls: slack.calls.length,
      slackCallsFailedByFaults: slackFaults,
      // Evidence that the faults hit work in flight.
      deliveriesRetried: Object.fromEntries(snap.retried.map((r) => [r.channel, { retried: r.retried, of: r.n }])),
      outboxEventsDispatchedAgain: snap.outbox.redispatched,
      outboxEvents: snap.outbox.n,
      mailsReceived: mails.length,
      unprocessedAtEnd: snap.unprocessed,
      stuck: perAlert.filter((p) => !p.alert_id || p.slackReceived === 0 || (p.emailExpected && p.emailsReceived === 0)).slice(0, 20),
      postgres: pgsrv.version,
    });

    log(table('Pannes injectées', [['t (s)', 'at'], ['Panne', 'fault'], ['ok', (r) => (r.ok ? 'oui' : `non : ${r.error}`)]], faults));
    log(
      table(
        'Anomalies injectées, alertes ouvertes, notifications livrées (par règle)',
        [['Règle', 'code'], ['injectées', 'injected'], ['alertes OPEN', 'opened'], ['messages Slack', 'slack'], ['e-mails', 'emails']],
        [...result.byRule, { code: 'total', injected, opened, slack: perAlert.reduce((n, p) => n + p.slackReceived, 0), emails: perAlert.reduce((n, p) => n + p.emailsReceived, 0) }],
      ),
    );
    log(
      table(
        'Bilan (les deux doivent valoir 0)',
        [['', 'what'], ['alertes', 'alerts'], ['Slack', 'slack'], ['e-mails', 'email'], ['total', 'total']],
        [
          { what: 'perdus', alerts: lost.alerts, slack: lost.slack, email: lost.email, total: lostTotal },
          { what: 'dupliqués', alerts: duplicated.transitions, slack: duplicated.slack, email: duplicated.email, total: dupTotal },
        ],
      ),
    );
    const retried = (ch) => result.deliveriesRetried[ch]?.retried ?? 0;
    log(
      `\nLes pannes ont touché du travail en cours : ${slackFaults} appels Slack refusés (429/5xx), ${retried('slack')} envois Slack et ${retried('email')} e-mails réessayés, ` +
        `${snap.outbox.redispatched} événements de la boîte d’envoi redistribués (sur ${snap.outbox.n}) ; ` +
        `${load.errors} écritures métier refusées pendant les pannes (PostgreSQL arrêté).`,
    );
    if (duplicated.email > 0) {
      log(
        `Dont e-mails envoyés deux fois avec le même Message-ID : ${sameMessageId} sur ${duplicated.email} ` +
          '(serveur SMTP qui a pris le message sans que son « 250 OK » arrive ; les messageries qui dédoublonnent par Message-ID les montrent une fois).',
      );
    }
    if (slackFaults === 0) log('Attention : la panne Slack n’a touché aucun appel (notificateur encore en reprise ?) ; allongez --duration ou --slack-outage-s.');
    log(`lost ${lostTotal}, duplicated ${dupTotal}`);
    result.finishedAt = new Date().toISOString();
    mkdirSync(resolve(repoRoot, values.out), { recursive: true });
    const file = join(resolve(repoRoot, values.out), `chaos-${result.startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`Résultats : ${file}`);
    await pool.end();
    process.exitCode = lostTotal === 0 && dupTotal === 0 ? 0 : 1;
  } finally {
    if (stack) await stack.stop().catch(() => undefined);
    await pgsrv.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
