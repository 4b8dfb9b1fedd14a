import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { MLPP_FIXTURES_DIR as FIXTURES_DIR, MLPP_MIGRATIONS_DIR as MIGRATIONS_DIR } from '../paths.js';

/**
 * Test support (not part of the package build): a throw-away PostgreSQL
 * database with the ML_PP reference schema applied from
 * infra/mlpp/migrations, each file in its own transaction, in name order.
 */

export { FIXTURES_DIR, MIGRATIONS_DIR };

const ADMIN_URL = process.env['VIGIE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  /** A connected client (superuser) on the new database. */
  client: pg.Client;
  /** Opens another client on the database (closed by drop()). */
  connect(): Promise<pg.Client>;
  /** Closes every client (e.g. before using the database as a template). */
  disconnect(): Promise<void>;
  drop(): Promise<void>;
}

export async function migrationFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR))
    .filter((f) => /^\d{4}_.*\.sql$/.test(f))
    .sort()
    .map((f) => join(MIGRATIONS_DIR, f));
}

export async function applyMigrations(client: pg.ClientBase): Promise<void> {
  for (const file of await migrationFiles()) {
    const sql = await readFile(file, 'utf8');
    await client.query('BEGIN');
    try {
      await client.query(sql);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
}

/**
 * Creates a database named `<prefix>_<random>`, with the reference migrations applied, or as a
 * copy of `template` (a database nobody is connected to) when given.
 */
export async function createTestDatabase(
  prefix = 'helpa_seed',
  opts: { migrate?: boolean; template?: string } = {},
): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(opts.template ? `CREATE DATABASE ${name} TEMPLATE ${opts.template}` : `CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const extra: pg.Client[] = [];
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    extra.push(c);
    return c;
  };
  const client = await connect();
  if (!opts.template && (opts.migrate ?? true)) await applyMigrations(client);
  return {
    name,
    url: url.toString(),
    client,
    connect,
    async disconnect() {
      for (const c of extra.splice(0)) await c.end().catch(() => undefined);
    },
    async drop() {
      for (const c of extra) await c.end().catch(() => undefined);
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
