// What the figures were measured on.
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';

export async function describeMachine({ pgUrl, redisUrl }) {
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  let pgVersion;
  let pgSettings;
  try {
    pgVersion = (await c.query('select version() as v')).rows[0].v;
    const { rows } = await c.query(
      "select name, setting, unit from pg_settings where name in ('shared_buffers','work_mem','max_connections','synchronous_commit','fsync','max_parallel_workers_per_gather','jit') order by name",
    );
    pgSettings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
  } finally {
    await c.end();
  }
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  let redisVersion;
  try {
    redisVersion = /redis_version:(\S+)/.exec(await r.info('server'))?.[1];
  } finally {
    r.disconnect();
  }
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGb: +(freemem() / 2 ** 30).toFixed(1),
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
    kernel: release(),
    node: process.version,
    postgres: pgVersion,
    postgresSettings: pgSettings,
    redis: redisVersion,
  };
}
