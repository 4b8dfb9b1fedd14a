// Measures generateOperations() throughput on a scratch database.
// Usage (after `npx tsc -b` in packages/seed):
//   node packages/seed/scripts/bench.mjs [movements=10000] [days=30] [seed=1]
// Env: VIGIE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
// Creates helpa_seed_bench_<random>, applies infra/mlpp/migrations, seeds, generates, prints
// throughput and the integrity-check count, then drops the database.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateOperations, seedReference } from '../dist/index.js';

const [movements = 10_000, days = 30, seed = 1] = process.argv.slice(2).map(Number);
const adminUrl = process.env.VIGIE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const migrations = resolve(dirname(fileURLToPath(import.meta.url)), '../../../infra/mlpp/migrations');
const name = `helpa_seed_bench_${randomBytes(4).toString('hex')}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const client = new pg.Client({ connectionString: url.toString() });
try {
  await client.connect();
  for (const f of (await readdir(migrations)).filter((x) => x.endsWith('.sql')).sort()) {
    await client.query('BEGIN');
    await client.query(await readFile(join(migrations, f), 'utf8'));
    await client.query('COMMIT');
  }
  await seedReference(client);
  let last = 0;
  const r = await generateOperations(client, {
    seed,
    days,
    movements,
    onProgress: (p) => {
      if (p.written - last >= Math.max(10_000, movements / 10)) {
        last = p.written;
        console.log(`  ${p.written}/${p.total}  ${Math.round(p.movementsPerSecond)} mvt/s`);
      }
    },
  });
  const checks = await client.query('SELECT count(*)::int AS n FROM v_integrity_checks');
  console.log(
    JSON.stringify({
      movements: r.movements,
      receptions: r.receptions,
      sorties: r.sorties,
      adjustments: r.adjustments,
      cdrs: r.cdrs,
      days,
      transactions: r.transactions,
      statements: r.statements,
      seconds: +(r.elapsedMs / 1000).toFixed(1),
      movementsPerSecond: Math.round(r.movementsPerSecond),
      integrityChecks: checks.rows[0].n,
    }),
  );
} finally {
  await client.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
