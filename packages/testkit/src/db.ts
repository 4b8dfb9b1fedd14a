import { createHash, randomBytes } from 'node:crypto';
import { migrate, migrationsDir, readMigrations } from '@vigie/db';
import pg from 'pg';

/** Admin URL of the machine's PostgreSQL (tests only). */
export const adminUrl = process.env.VIGIE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string, user?: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  if (user) {
    u.username = user;
    u.password = '';
  }
  return u.toString();
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const c = new pg.Client({ connectionString: databaseUrl(database), application_name: 'vigie-testkit' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export type TemplateKind = 'empty' | 'reference' | 'reference+vigie';

export interface TestDatabase {
  name: string;
  url: string;
  /** URL connecting as the services' least-privilege role (vigie_app must be LOGIN). */
  appUrl: string;
  drop: () => Promise<void>;
}

function fingerprint(kind: TemplateKind, seed: boolean): string {
  const h = createHash('sha256').update(`${kind}:${seed}`);
  if (kind !== 'empty') for (const m of readMigrations(migrationsDir('reference'))) h.update(m.checksum);
  if (kind === 'reference+vigie') for (const m of readMigrations(migrationsDir('vigie'))) h.update(m.checksum);
  return h.digest('hex').slice(0, 10);
}

/** Applies the migration sets (and the reference data) to a database. */
export async function prepareDatabase(url: string, kind: TemplateKind, seedReference: boolean): Promise<void> {
  if (kind === 'empty') return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await migrate(c, 'reference', readMigrations(migrationsDir('reference')));
    if (seedReference) {
      const seed = (await import('@vigie/seed')) as { seedReference: (client: pg.ClientBase) => Promise<unknown> };
      await seed.seedReference(c);
    }
    if (kind === 'reference+vigie') await migrate(c, 'vigie', readMigrations(migrationsDir('vigie')));
  } finally {
    await c.end();
  }
}

async function ensureTemplate(kind: TemplateKind, seedReference: boolean): Promise<string> {
  const name = `vigie_tpl_${kind.replace('+', '_')}_${seedReference ? 's' : 'n'}_${fingerprint(kind, seedReference)}`;
  await withAdmin(async (c) => {
    await c.query('select pg_advisory_lock(hashtext($1))', [name]);
    try {
      const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [name]);
      if (rowCount) return;
      const building = `${name}_b`;
      await c.query(`drop database if exists ${building}`);
      await c.query(`create database ${building}`);
      try {
        await prepareDatabase(databaseUrl(building), kind, seedReference);
      } catch (err) {
        await c.query(`drop database if exists ${building}`);
        throw err;
      }
      await c.query(`alter database ${building} rename to ${name}`);
      await c.query(`alter database ${name} with is_template true`);
    } finally {
      await c.query('select pg_advisory_unlock(hashtext($1))', [name]);
    }
  });
  return name;
}

/**
 * A fresh database for one test file, copied from a template built once
 * (per migration fingerprint) with the reference DB and/or Vigie's schema.
 */
export async function createTestDatabase(opts: { kind?: TemplateKind; seedReference?: boolean; prefix?: string } = {}): Promise<TestDatabase> {
  const kind = opts.kind ?? 'reference+vigie';
  const seedReference = opts.seedReference ?? kind !== 'empty';
  const name = `vt_${opts.prefix ?? 'db'}_${randomBytes(5).toString('hex')}`;
  const template = kind === 'empty' ? 'template1' : await ensureTemplate(kind, seedReference);
  await withAdmin(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`create database ${name} template ${template}`);
        return;
      } catch (err) {
        // 55006: the template is being copied by another worker at this instant.
        if ((err as { code?: string }).code !== '55006' || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  if (kind === 'reference+vigie') await withAdmin((c) => c.query('alter role vigie_app login').then(() => undefined));
  return {
    name,
    url: databaseUrl(name),
    appUrl: databaseUrl(name, 'vigie_app'),
    drop: () => dropDatabase(name),
  };
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (c) => {
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
    await c.query(`drop database if exists ${name}`);
  });
}
