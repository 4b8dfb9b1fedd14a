// The bare pipeline Vigie is measured against, in one process: an AFTER
// INSERT trigger writes an outbox row and NOTIFYs; this process LISTENs,
// drains the outbox into BullMQ (one job per event), and a worker does one
// SQL select per job then one local HTTP POST. No rules, no alert, no
// notifier: the cost of the plumbing alone on this machine.
// Env: FLOOR_PG_URL, FLOOR_REDIS_URL, FLOOR_POST_URL, FLOOR_PREFIX, FLOOR_CONCURRENCY.
import { request } from 'node:http';
import { Agent } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const url = process.env.FLOOR_PG_URL;
const redisUrl = process.env.FLOOR_REDIS_URL;
const postUrl = new URL(process.env.FLOOR_POST_URL);
const prefix = process.env.FLOOR_PREFIX ?? 'floor';
const concurrency = Number(process.env.FLOOR_CONCURRENCY ?? 8);

const pool = new pg.Pool({ connectionString: url, max: concurrency + 2, application_name: 'vigie-bench-floor' });
const listen = new pg.Client({ connectionString: url, application_name: 'vigie-bench-floor-listen' });
const producerRedis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
const workerRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue('floor', { connection: producerRedis, prefix });
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

let draining = null;
let again = false;
async function drainOnce() {
  const c = await pool.connect();
  try {
    for (;;) {
      await c.query('begin');
      const { rows } = await c.query(
        `update bench_floor.outbox set dispatched = true
          where id in (select id from bench_floor.outbox where not dispatched order by id limit 500 for update skip locked)
          returning id, event_id`,
      );
      if (rows.length) await queue.addBulk(rows.map((r) => ({ name: 'e', data: { eventId: Number(r.event_id) }, opts: { jobId: `o-${r.id}`, removeOnComplete: true } })));
      await c.query('commit');
      if (rows.length < 500) break;
    }
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
function drain() {
  if (draining) {
    again = true;
    return;
  }
  draining = (async () => {
    do {
      again = false;
      await drainOnce().catch((err) => process.stderr.write(`drain: ${err.message}\n`));
    } while (again);
    draining = null;
  })();
}

function post(body) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: postUrl.hostname, port: postUrl.port, path: postUrl.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const worker = new Worker(
  'floor',
  async (job) => {
    const { rows } = await pool.query('select id, payload from bench_floor.events where id = $1', [job.data.eventId]);
    await post({ id: job.data.eventId, payload: rows[0]?.payload ?? null });
  },
  { connection: workerRedis, prefix, concurrency },
);
worker.on('error', () => undefined);

await listen.connect();
listen.on('notification', () => drain());
await listen.query('listen bench_floor');
drain();
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await worker.close();
  await queue.close();
  await listen.end();
  await pool.end();
  process.exit(0);
});
