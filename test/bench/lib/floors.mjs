// The floors: what this machine does with no Vigie logic at all.
//   notify  — raw NOTIFY → LISTEN round trip (autocommit pg_notify to a LISTENing session)
//   bullmq  — raw BullMQ add → process start, and how many jobs/s one worker process drains
//   pipeline— a bare trigger → outbox + NOTIFY → LISTEN → BullMQ → one SQL select → local
//             HTTP POST pipeline (floor-pipeline.mjs): latency at a steady rate, and the
//             rate at which it saturates.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { sleep, waitFor } from './stack.mjs';
import { summary } from './stats.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Paces `fn(i)` at `rate` per second for `count` calls, `inflight` at a time at most. */
async function paced(count, rate, fn, inflight = 16) {
  const t0 = performance.now();
  const running = new Set();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const now = performance.now();
    if (due > now) await sleep(due - now);
    while (running.size >= inflight) await Promise.race(running);
    const p = fn(i).finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
  return (performance.now() - t0) / 1000;
}

export async function notifyListenFloor(url, { count = 1000, rate = 200 } = {}) {
  const listener = new pg.Client({ connectionString: url, application_name: 'vigie-bench-floor' });
  const sender = new pg.Client({ connectionString: url, application_name: 'vigie-bench-floor' });
  await listener.connect();
  await sender.connect();
  const sent = new Map();
  const lat = [];
  listener.on('notification', (n) => {
    const t = sent.get(n.payload);
    if (t !== undefined) lat.push(performance.now() - t);
  });
  await listener.query('listen vigie_bench_floor');
  try {
    await paced(count, rate, async (i) => {
      sent.set(String(i), performance.now());
      await sender.query("select pg_notify('vigie_bench_floor', $1)", [String(i)]);
    }, 1);
    await waitFor(async () => lat.length >= count, { timeoutMs: 10_000, what: 'les notifications' }).catch(() => undefined);
  } finally {
    await listener.end();
    await sender.end();
  }
  return { ...summary(lat), rate };
}

export async function bullmqFloor(redisUrl, { count = 2000, rate = 200, saturate = 20_000, concurrency = 8 } = {}) {
  const prefix = `vigie-bench-floor-${Date.now()}`;
  const prod = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const wconn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('floor', { connection: prod, prefix });
  const added = new Map();
  const lat = [];
  let processed = 0;
  const worker = new Worker(
    'floor',
    async (job) => {
      const t = added.get(job.data.i);
      if (t !== undefined) lat.push(performance.now() - t);
      processed++;
    },
    { connection: wconn, prefix, concurrency },
  );
  worker.on('error', () => undefined);
  try {
    await worker.waitUntilReady();
    await paced(count, rate, async (i) => {
      added.set(i, performance.now());
      await queue.add('j', { i }, { removeOnComplete: true });
    }, 4);
    await waitFor(async () => processed >= count, { timeoutMs: 30_000, what: 'les jobs' });
    // Saturation: everything added at once (in bulk), then drained by the worker.
    added.clear();
    const before = processed;
    const t0 = performance.now();
    for (let i = 0; i < saturate; i += 500)
      await queue.addBulk(Array.from({ length: Math.min(500, saturate - i) }, (_, k) => ({ name: 'j', data: { i: -1 - i - k }, opts: { removeOnComplete: true } })));
    await waitFor(async () => processed - before >= saturate, { timeoutMs: 120_000, intervalMs: 20, what: 'la saturation' });
    const jobsPerS = saturate / ((performance.now() - t0) / 1000);
    return { ...summary(lat), rate, jobsPerS, concurrency };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    prod.disconnect();
    wconn.disconnect();
  }
}

const FLOOR_DDL = `
create schema if not exists bench_floor;
create table if not exists bench_floor.events (id bigserial primary key, payload integer not null, created_at timestamptz not null default now());
create table if not exists bench_floor.outbox (id bigserial primary key, event_id bigint not null, created_at timestamptz not null default clock_timestamp(),
                                               dispatched boolean not null default false);
create index if not exists outbox_undispatched on bench_floor.outbox (id) where not dispatched;
create or replace function bench_floor.capture() returns trigger language plpgsql as $$
begin
  insert into bench_floor.outbox (event_id) values (new.id);
  perform pg_notify('bench_floor', '');
  return null;
end $$;
drop trigger if exists capture on bench_floor.events;
create trigger capture after insert on bench_floor.events for each row execute function bench_floor.capture();
truncate bench_floor.events, bench_floor.outbox;
`;

/**
 * The bare pipeline: p50/p95/p99 commit → HTTP POST received at `rate`
 * events/s, and the saturation rate (the highest step of `ramp` whose
 * events all arrive with the backlog drained within a second of the step's end).
 */
export async function pipelineFloor(url, redisUrl, { rate = 100, seconds = 10, ramp = [400, 800, 1200, 1600, 2000, 2500, 3000], stepSeconds = 5, log = () => {} } = {}) {
  const admin = new pg.Client({ connectionString: url, application_name: 'vigie-bench-floor' });
  await admin.connect();
  await admin.query(FLOOR_DDL);
  const received = new Map();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      try {
        received.set(Number(JSON.parse(body).id), Date.now());
      } catch {
        // ignore
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const child = spawn(process.execPath, [join(here, 'floor-pipeline.mjs')], {
    env: { ...process.env, FLOOR_PG_URL: url, FLOOR_REDIS_URL: redisUrl, FLOOR_POST_URL: `http://127.0.0.1:${port}/floor`, FLOOR_PREFIX: `vigie-bench-pipe-${Date.now()}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const producers = new pg.Pool({ connectionString: url, max: 8, application_name: 'vigie-bench-floor-load' });
  const committed = new Map();
  const insertOne = async (i) => {
    const { rows } = await producers.query('insert into bench_floor.events (payload) values ($1) returning id', [i]);
    committed.set(Number(rows[0].id), Date.now());
  };
  const latencies = (ids) => ids.map((id) => (received.has(id) ? received.get(id) - committed.get(id) : null)).filter((x) => x !== null);
  try {
    await waitFor(async () => out.includes('ready'), { timeoutMs: 20_000, what: 'le pipeline nu' });
    // Warm-up.
    await paced(200, 200, insertOne, 8);
    await sleep(500);
    committed.clear();
    received.clear();
    await paced(rate * seconds, rate, insertOne, 8);
    await waitFor(async () => received.size >= committed.size, { timeoutMs: 20_000, what: 'les POST' }).catch(() => undefined);
    const steady = { ...summary(latencies([...committed.keys()])), rate };
    log(`    pipeline nu à ${rate}/s : p50 ${steady.p50} ms, p99 ${steady.p99} ms`);
    const steps = [];
    let saturation = null;
    for (const r of ramp) {
      committed.clear();
      received.clear();
      const t0 = performance.now();
      const elapsed = await paced(r * stepSeconds, r, insertOne, 32);
      const achieved = (r * stepSeconds) / elapsed;
      const endAt = performance.now();
      const drained = await waitFor(async () => received.size >= committed.size, { timeoutMs: 30_000, intervalMs: 20, what: 'la rampe' })
        .then(() => (performance.now() - endAt) / 1000)
        .catch(() => null);
      const lat = summary(latencies([...committed.keys()]));
      const ok = achieved >= 0.95 * r && drained !== null && drained <= 1;
      steps.push({ rate: r, achieved: Math.round(achieved), drainS: drained, p50: lat.p50, p99: lat.p99, ok });
      log(`    pipeline nu, rampe ${r}/s : ${Math.round(achieved)}/s écrits, vidé ${drained === null ? 'jamais' : `${drained.toFixed(2)} s`} après, p99 ${lat.p99} ms${ok ? '' : ' — saturé'}`);
      if (ok) saturation = r;
      else break;
      void t0;
    }
    return { steady, steps, saturationEventsPerS: saturation };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (child.exitCode === null) child.kill('SIGKILL');
    await producers.end().catch(() => undefined);
    server.close();
    await admin.query('drop schema if exists bench_floor cascade').catch(() => undefined);
    await admin.end();
  }
}
