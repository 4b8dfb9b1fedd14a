#!/usr/bin/env node
// Rollback drill: release N running, release N+1 (this checkout) deployed with
// its migrations, then rolled back to N's code on N+1's schema — and at every
// step, Vigie must still work: services ready, an injected anomaly opens its
// alert. N is the commit in infra/release/previous (or --previous <rev>).
//
//   node infra/scripts/rollback-drill.mjs [--previous <rev>] [--keep]
//
// Needs: a built checkout (npm run build), git history containing N, the
// machine's PostgreSQL and Redis. Builds N in a temporary git worktree.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { previous: { type: 'string' }, keep: { type: 'boolean' } } });
const previous = values.previous ?? readFileSync(join(root, 'infra/release/previous'), 'utf8').trim();
const adminBase = process.env.VIGIE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `vigie_drill_${process.pid}`;
const dbUrl = (user) => {
  const u = new URL(adminBase);
  u.pathname = `/${dbName}`;
  if (user) u.username = user;
  return u.toString();
};
const steps = [];
const procs = new Set();

function sh(cmd, args, opts = {}) {
  return (execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }) ?? '').trim();
}
function step(name, ok, detail = '') {
  steps.push({ name, ok, detail });
  console.log(`${ok ? '✓' : '✗'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) throw new Error(`étape en échec : ${name}`);
}
async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
async function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`délai dépassé : ${what}${last ? ` (${last.message})` : ''}`);
}

/** Starts every service a checkout has, as the production entry points do. */
async function startServices(checkout, label, prefix) {
  const started = [];
  for (const name of ['listener', 'evaluator', 'notifier']) {
    const entry = join(checkout, 'services', name, 'dist', 'index.js');
    if (!existsSync(entry)) continue;
    const port = await freePort();
    const proc = spawn(process.execPath, [entry], {
      cwd: checkout,
      env: {
        PATH: process.env.PATH,
        APP_ENV: 'local',
        DATABASE_URL: dbUrl('vigie_app'),
        REDIS_URL: redisUrl,
        VIGIE_QUEUE_PREFIX: prefix,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        VIGIE_SINK_DIR: mkdtempSync(join(tmpdir(), 'vigie-drill-sink-')),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d) => {
      err += d;
    });
    procs.add(proc);
    started.push({ name, port, proc, stderr: () => err });
  }
  for (const s of started) {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${s.port}/ready`)).status === 200, 60_000, `${label} ${s.name} /ready`).catch((e) => {
      throw new Error(`${e.message}\n${s.stderr()}`);
    });
  }
  const health = await (await fetch(`http://127.0.0.1:${started[0].port}/health`)).json();
  step(`${label} : ${started.map((s) => s.name).join(', ')} prêts`, true, `release ${health.releaseId}`);
  return started;
}
async function stopServices(started) {
  for (const s of started) {
    s.proc.kill('SIGTERM');
    await new Promise((r) => (s.proc.exitCode !== null ? r() : s.proc.once('exit', r)));
    procs.delete(s.proc);
  }
}

/** Injects an anomaly with this checkout's generator and waits for its alert to open. */
async function anomalyOpens(kind, label) {
  const seed = await import(join(root, 'packages/seed/dist/index.js'));
  const c = new pg.Client({ connectionString: dbUrl() });
  await c.connect();
  try {
    const before = (await c.query("select count(*)::int as n from public.system_alerts where check_code = $1 and status = 'OPEN'", [kind])).rows[0].n;
    const t0 = Date.now();
    await seed.injectAnomaly(c, kind);
    await waitFor(
      async () => (await c.query("select count(*)::int as n from public.system_alerts where check_code = $1 and status = 'OPEN'", [kind])).rows[0].n > before,
      30_000,
      `${label} : alerte ${kind} OPEN`,
    );
    step(`${label} : anomalie ${kind} → alerte OPEN`, true, `${Date.now() - t0} ms`);
  } finally {
    await c.end();
  }
}

function cli(checkout, args) {
  return sh(process.execPath, [join(checkout, 'packages/cli/dist/bin.js'), ...args], { cwd: checkout, env: { ...process.env, DATABASE_URL: dbUrl(), APP_ENV: 'local' } });
}

const worktree = mkdtempSync(join(tmpdir(), 'vigie-release-n-'));
const admin = new pg.Client({ connectionString: adminBase });
let failed = false;
let adminConnected = false;
try {
  const sha = sh('git', ['-C', root, 'rev-parse', '--short', previous]);
  const head = sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  console.log(`Exercice de retour arrière : N = ${sha} (infra/release/previous), N+1 = ${head} (cette copie)`);
  sh('git', ['-C', root, 'worktree', 'add', '--detach', worktree, sha]);
  console.log('  construction de N (npm install du lock de N + build)…');
  sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: worktree, stdio: ['ignore', 'ignore', 'pipe'] });
  sh('npm', ['run', 'build', '--silent'], { cwd: worktree, env: { ...process.env, APP_RELEASE: `N-${sha}` }, stdio: ['ignore', 'ignore', 'pipe'] });
  step('N construite', true, sha);

  await admin.connect();
  adminConnected = true;
  await admin.query(`drop database if exists ${dbName}`);
  await admin.query(`create database ${dbName}`);
  cli(worktree, ['migrate']);
  await admin.query('alter role vigie_app login');
  cli(worktree, ['seed', '--reference-only']);
  step('N : migrations appliquées sur une base vide', true);

  const prefixN = `drill-${process.pid}-n`;
  let running = await startServices(worktree, 'N', prefixN);
  await anomalyOpens('STOCK_NEGATIF', 'N');
  await stopServices(running);

  const out = cli(root, ['migrate']);
  const applied = out.split('\n').filter((l) => l.includes('✓')).length;
  step('N+1 : migrations appliquées par-dessus N', true, `${applied} nouvelle(s)`);
  running = await startServices(root, 'N+1', `drill-${process.pid}-n1`);
  await anomalyOpens('STOCK_OVER_CAPACITY', 'N+1');
  await stopServices(running);

  running = await startServices(worktree, 'retour à N (schéma N+1)', prefixN);
  await anomalyOpens('RECEPTION_ECART_15C', 'retour à N');
  const rerun = cli(worktree, ['migrate']);
  step('retour à N : « vigie migrate » de N ne casse rien', true, rerun.split('\n').find((l) => l.includes('inconnues')) ? 'migrations N+1 signalées comme inconnues' : 'aucune migration inconnue');
  await stopServices(running);
  console.log(`\nExercice réussi : ${steps.length} étapes.`);
} catch (err) {
  failed = true;
  console.error(`\nExercice en échec : ${err.message}`);
} finally {
  for (const p of procs) p.kill('SIGKILL');
  if (!values.keep) {
    try {
      sh('git', ['-C', root, 'worktree', 'remove', '--force', worktree]);
    } catch {
      rmSync(worktree, { recursive: true, force: true });
    }
    if (adminConnected) await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
  }
  if (adminConnected) await admin.end().catch(() => undefined);
}
process.exit(failed ? 1 : 0);
