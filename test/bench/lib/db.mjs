// The bench's databases: an ML_PP reference database seeded once per scale
// (a template, reused across runs), and a fresh copy of it per run where
// Vigie is installed, as on ML_PP's real database (Vigie arrives on a
// database that already holds its history).
import { createHash } from 'node:crypto';
import { migrate, migrationsDir, readMigrations } from '@vigie/db';
import { generateOperations, seedReference } from '@vigie/seed';
import pg from 'pg';

export const adminUrl = process.env.VIGIE_BENCH_PG_URL ?? process.env.VIGIE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function dbUrl(name, user, base = adminUrl) {
  const u = new URL(base);
  u.pathname = `/${name}`;
  if (user) {
    u.username = user;
    u.password = '';
  }
  return u.toString();
}

export async function withClient(url, fn) {
  const c = new pg.Client({ connectionString: url, application_name: 'vigie-bench' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Days the generated history spans: a month for small scales, up to a year at 1,000,000. */
export function daysFor(movements) {
  return Math.max(30, Math.min(365, Math.ceil(movements / 2_800)));
}

function templateName(scale) {
  const h = createHash('sha256').update(`seed:${scale}:${daysFor(scale)}`);
  for (const m of readMigrations(migrationsDir('reference'))) h.update(m.checksum);
  return `vigie_bench_tpl_${scale}_${h.digest('hex').slice(0, 8)}`;
}

/**
 * The seeded ML_PP reference database at this scale (no Vigie in it): built
 * once, then reused. Returns its name and what it holds.
 */
export async function ensureTemplate(scale, { log = console.log, base = adminUrl } = {}) {
  const name = templateName(scale);
  return withClient(dbUrl('postgres', undefined, base), async (admin) => {
    await admin.query('select pg_advisory_lock(hashtext($1))', [name]);
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (!rowCount) {
        const building = `${name}_b`;
        await admin.query(`drop database if exists ${building}`);
        await admin.query(`create database ${building}`);
        const days = daysFor(scale);
        log(`  base de référence : ${scale.toLocaleString('fr-FR')} mouvements sur ${days} jours (une seule fois, réutilisée ensuite)…`);
        const t0 = Date.now();
        await withClient(dbUrl(building, undefined, base), async (c) => {
          await migrate(c, 'reference', readMigrations(migrationsDir('reference')));
          await seedReference(c);
          let next = 0;
          await generateOperations(c, {
            seed: 1,
            days,
            movements: scale,
            onProgress: (p) => {
              if (p.written >= next) {
                next += Math.max(10_000, Math.round(scale / 10));
                log(`    ${p.written.toLocaleString('fr-FR')}/${p.total.toLocaleString('fr-FR')} (${Math.round(p.movementsPerSecond)} mvt/s)`);
              }
            },
          });
          await c.query('vacuum analyze');
        });
        await admin.query(`alter database ${building} rename to ${name}`);
        await admin.query(`alter database ${name} with is_template true`);
        log(`  base de référence prête en ${Math.round((Date.now() - t0) / 1000)} s`);
      }
    } finally {
      await admin.query('select pg_advisory_unlock(hashtext($1))', [name]);
    }
    return name;
  });
}

/**
 * A fresh copy of the template under `name`, with Vigie's migrations applied
 * and the services' login role ready. Returns the owner and service URLs.
 */
export async function freshCopy(template, name, { base = adminUrl, vigie = true } = {}) {
  await withClient(dbUrl('postgres', undefined, base), async (admin) => {
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name} template ${template} strategy file_copy`);
  });
  const url = dbUrl(name, undefined, base);
  if (vigie) {
    await withClient(url, async (c) => {
      await migrate(c, 'vigie', readMigrations(migrationsDir('vigie')));
      await c.query('alter role vigie_app login');
      // Vigie's cache of closed-day stock totals is built once at install.
      await c.query('select vigie.stock_days_refresh()');
      await c.query('analyze');
    });
  }
  return { name, url, appUrl: dbUrl(name, 'vigie_app', base) };
}

export async function dropDatabase(name, base = adminUrl) {
  await withClient(dbUrl('postgres', undefined, base), async (admin) => {
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
    await admin.query(`drop database if exists ${name}`);
  });
}

/** Movements the database holds (receptions + sorties + adjustments). */
export async function countMovements(url) {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `select (select count(*) from public.receptions)::int as receptions, (select count(*) from public.sorties_produit)::int as sorties,
              (select count(*) from public.stocks_adjustments)::int as adjustments`,
    );
    const r = rows[0];
    return { ...r, movements: r.receptions + r.sorties + r.adjustments };
  });
}
