// Everything Vigie runs on, private to one bench or chaos run: a redis-server
// on its own port, the local Slack Web API and SMTP test servers, and the
// three services as real child processes (`node services/<name>/dist/index.js`),
// as in production. All on 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlackServer, startSmtpServer } from '@vigie/testkit';
import { Redis } from 'ioredis';

/** The V8 flags the image sets (infra/docker/Dockerfile): the bench measures the services as deployed. */
export const DEPLOYED_NODE_OPTIONS = '--max-semi-space-size=8';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
    s.on('error', reject);
  });
}

export async function waitFor(fn, { timeoutMs = 30_000, intervalMs = 50, what = 'la condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`délai dépassé en attendant ${what}${last ? ` (${last.message ?? last})` : ''}`);
    await sleep(intervalMs);
  }
}

/** A redis-server of our own (FLUSHALL and restarts never touch the shared one). */
export async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  }, { what: 'redis-server privé' });
  return {
    url,
    port,
    pid: proc.pid,
    async flushall() {
      const r = new Redis(url, { maxRetriesPerRequest: 2 });
      try {
        await r.flushall();
      } finally {
        r.disconnect();
      }
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resident set size of a process, in MB (/proc/<pid>/status VmRSS). */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) of a process, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

export const BENCH_CHANNELS = {
  OWNER_MIXING: 'C0BENCHOWN',
  RECEPTION_ECART_15C: 'C0BENCHREC',
  SORTIE_ECART_15C: 'C0BENCHSOR',
  SORTIE_INCOHERENTE: 'C0BENCHINC',
};

/**
 * The bench's routing file: ML_PP's defaults (CRITICAL → Slack + on-call
 * email, WARN → digest only), plus the bench's probe rules sent to Slack, each
 * to a channel of its own so that Slack's per-channel pacing (1 message/s) and
 * the per-rule storm grouping never hold a probe back.
 */
export function writeRoutingFile(dir) {
  const file = join(dir, 'routing.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        routes: [
          { name: 'bench-owner-mixing', match: { checkCode: 'OWNER_MIXING' }, slack: [BENCH_CHANNELS.OWNER_MIXING], email: ['oncall'] },
          { name: 'bench-reception-ecart', match: { checkCode: 'RECEPTION_ECART_15C' }, slack: [BENCH_CHANNELS.RECEPTION_ECART_15C], email: [], emailOn: [] },
          { name: 'bench-sortie-ecart', match: { checkCode: 'SORTIE_ECART_15C' }, slack: [BENCH_CHANNELS.SORTIE_ECART_15C], email: [], emailOn: [] },
          { name: 'bench-sortie-incoherente', match: { checkCode: 'SORTIE_INCOHERENTE' }, slack: [BENCH_CHANNELS.SORTIE_INCOHERENTE], email: [], emailOn: [] },
          { name: 'security-critical', match: { severity: 'CRITICAL', family: 'security' }, slack: ['security'], email: ['security'] },
          { name: 'integrity-critical', match: { severity: 'CRITICAL' }, slack: ['ops'], email: ['oncall'] },
          { name: 'warn-digest-only', match: { severity: 'WARN' }, slack: [], email: [], emailOn: [] },
        ],
      },
      null,
      2,
    ),
  );
  return file;
}

/**
 * The running system. `start()` brings up redis, Slack, SMTP and the three
 * services; `kill(name)` is kill -9; `restart(name)` starts it again.
 */
export async function startStack({ appUrl, prefix = 'vigie', evalConcurrency, env = {}, services = ['listener', 'evaluator', 'notifier'], log = () => {} }) {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-bench-'));
  const redis = await startRedis();
  const slack = await startSlackServer();
  const smtp = await startSmtpServer();
  const routing = writeRoutingFile(dir);
  const ports = { listener: await freePort(), evaluator: await freePort(), notifier: await freePort() };
  const common = {
    APP_ENV: 'local',
    APP_RELEASE: 'bench',
    DATABASE_URL: appUrl,
    REDIS_URL: redis.url,
    VIGIE_QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...env,
  };
  const envOf = {
    listener: () => ({ ...common, PORT: String(ports.listener) }),
    evaluator: () => ({
      ...common,
      PORT: String(ports.evaluator),
      VIGIE_SWEEP_INTERVAL_MS: env.VIGIE_SWEEP_INTERVAL_MS ?? '3600000',
      ...(evalConcurrency ? { VIGIE_EVAL_CONCURRENCY: String(evalConcurrency) } : {}),
    }),
    notifier: () => ({
      ...common,
      PORT: String(ports.notifier),
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.apiUrl,
      SLACK_CHANNEL_OPS: 'C0BENCHOPS',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Vigie bench <vigie@bench.local>',
      MAIL_ONCALL: 'astreinte@bench.local',
      VIGIE_ROUTING_FILE: routing,
      VIGIE_STORM_WINDOW_S: env.VIGIE_STORM_WINDOW_S ?? '1',
      VIGIE_SINK_DIR: join(dir, 'sink'),
      VIGIE_SINK_CONSOLE: 'false',
      VIGIE_RETRY_MAX_S: env.VIGIE_RETRY_MAX_S ?? '5',
    }),
  };
  const procs = {};
  const outputs = {};

  function spawnService(name) {
    const proc = spawn(process.execPath, [join(repoRoot, 'services', name, 'dist', 'index.js')], {
      // As deployed: the image's V8 flags (infra/docker/Dockerfile), unless NODE_OPTIONS says otherwise.
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: process.env.NODE_OPTIONS ?? DEPLOYED_NODE_OPTIONS, ...envOf[name]() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    outputs[name] = outputs[name] ?? '';
    const keep = (d) => {
      outputs[name] = (outputs[name] + d.toString()).slice(-20_000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    procs[name] = proc;
    return proc;
  }

  async function ready(name, timeoutMs = 60_000) {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[name]}/ready`)).status === 200, {
      timeoutMs,
      intervalMs: 100,
      what: `${name} prêt (/ready)`,
    });
  }

  async function start(name) {
    spawnService(name);
    await ready(name).catch((err) => {
      throw new Error(`${err.message}\n--- sortie de ${name} ---\n${outputs[name]}`);
    });
  }

  async function kill(name) {
    const p = procs[name];
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  for (const s of services) {
    await start(s);
    log(`  ${s} prêt (pid ${procs[s].pid})`);
  }

  return {
    dir,
    redis,
    slack,
    smtp,
    ports,
    procs,
    output: (name) => outputs[name] ?? '',
    pid: (name) => procs[name]?.pid,
    start,
    kill,
    ready,
    async stop() {
      for (const s of Object.keys(procs)) await kill(s);
      await slack.close().catch(() => undefined);
      await smtp.close().catch(() => undefined);
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
