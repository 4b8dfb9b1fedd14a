/**
 * Test helper: scratch databases on the machine's PostgreSQL (never part of
 * the build). Each test file creates its own `helpc_audit_*` database and
 * drops it at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ADMIN_URL = process.env.VIGIE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const FIXTURES = dirname(fileURLToPath(import.meta.url));

export interface ScratchDb {
  name: string;
  client: pg.Client;
  drop(): Promise<void>;
}

function urlFor(db: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function createScratchDb(tag: string): Promise<ScratchDb> {
  const name = `helpc_audit_${tag}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ connectionString: urlFor(name) });
  await client.connect();
  return {
    name,
    client,
    async drop() {
      await client.end().catch(() => undefined);
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

/** Runs one SQL file in its own transaction. */
export async function applySql(client: pg.Client, sql: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

export async function applyFixture(client: pg.Client, file: string): Promise<void> {
  await applySql(client, await readFile(join(FIXTURES, file), 'utf8'));
}
