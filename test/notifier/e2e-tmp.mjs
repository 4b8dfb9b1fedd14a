import { createTestDatabase } from '@vigie/testkit';
import { spawn, execFileSync } from 'node:child_process';
import pg from 'pg';
const db = await createTestDatabase({ prefix: 'e2e' });
const base = { PATH: process.env.PATH, APP_ENV: 'local', APP_RELEASE: 'e2e-1', DATABASE_URL: db.appUrl, REDIS_URL: 'redis://127.0.0.1:6379', VIGIE_QUEUE_PREFIX: 'e2e' + Date.now(), HOST: '127.0.0.1', LOG_LEVEL: 'warn', VIGIE_SINK_DIR: '/tmp/e2e/sink', VIGIE_SINK_CONSOLE: 'false', VIGIE_STORM_WINDOW_S: '5' };
const procs = [];
for (const [svc, port] of [['listener', 18081], ['evaluator', 18082], ['notifier', 18083]]) {
  const p = spawn(process.execPath, [`services/${svc}/dist/index.js`], { env: { ...base, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout.on('data', (d) => process.stdout.write(`[${svc}] ${String(d).slice(0, 600)}\n`));
  p.stderr.on('data', (d) => process.stdout.write(`[${svc}!] ${d}`));
  procs.push(p);
}
await new Promise((r) => setTimeout(r, 4000));
execFileSync(process.execPath, ['packages/cli/dist/bin.js', 'seed', '--reference-only', '--anomaly', 'STOCK_NEGATIF', '--anomaly', 'RECEPTION_ECART_15C'], { env: { ...base, DATABASE_URL: db.url } });
await new Promise((r) => setTimeout(r, 8000));
const c = new pg.Client(db.url); await c.connect();
for (const q of ["select check_code, severity, status, entity_type, payload from public.system_alerts", "select id, kind, check_code from vigie.alert_transitions", "select * from vigie.notify_transitions", "select idempotency_key, status, reason, provider, last_error_code from vigie.deliveries", "select id, kind, dispatched_at is not null d, processed_at is not null p from vigie.outbox where kind like 'alert%'"]) {
  console.log(q); console.log(JSON.stringify((await c.query(q)).rows, null, 0));
}
await c.end();
for (const p of procs) p.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 1500));
await db.drop();
