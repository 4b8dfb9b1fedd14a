import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationEditedError, MigrationFailedError, migrate, migrationStatus, readMigrations } from './index.js';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase({ kind: 'empty', prefix: 'migrate' });
  dir = mkdtempSync(join(tmpdir(), 'vigie-mig-'));
  writeFileSync(join(dir, '0001_first.sql'), 'create table public.t1 (id int primary key);');
  writeFileSync(join(dir, '0002_second.sql'), 'insert into public.t1 values (1);');
});
afterAll(async () => {
  await db.drop();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  return c;
}

describe('migrate', () => {
  it('applies pending migrations once; a second run changes nothing', async () => {
    const c = await client();
    try {
      const first = await migrate(c, 'vigie', readMigrations(dir));
      expect(first.applied).toEqual(['0001_first.sql', '0002_second.sql']);
      const second = await migrate(c, 'vigie', readMigrations(dir));
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toBe(2);
      const { rows } = await c.query('select count(*)::int as n from public.t1');
      expect(rows[0].n).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('runs concurrent migrate calls one at a time (advisory lock)', async () => {
    writeFileSync(join(dir, '0003_third.sql'), 'insert into public.t1 values (3);');
    const [a, b] = await Promise.all([client(), client()]);
    try {
      const results = await Promise.all([migrate(a, 'vigie', readMigrations(dir)), migrate(b, 'vigie', readMigrations(dir))]);
      expect(results.flatMap((r) => r.applied)).toEqual(['0003_third.sql']);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('refuses an applied migration whose file was edited, naming the file', async () => {
    writeFileSync(join(dir, '0002_second.sql'), 'insert into public.t1 values (2);');
    const c = await client();
    try {
      const err = await migrate(c, 'vigie', readMigrations(dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationEditedError);
      expect((err as Error).message).toContain('vigie/0002_second.sql a été modifiée');
      const status = await migrationStatus(c, 'vigie', readMigrations(dir));
      expect(status.edited).toEqual(['0002_second.sql']);
    } finally {
      writeFileSync(join(dir, '0002_second.sql'), 'insert into public.t1 values (1);');
      await c.end();
    }
  });

  it('rolls back a failing migration entirely and says which file failed', async () => {
    writeFileSync(join(dir, '0004_broken.sql'), 'create table public.t4 (id int); select 1/0;');
    const c = await client();
    try {
      const err = await migrate(c, 'vigie', readMigrations(dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationFailedError);
      expect((err as Error).message).toContain('0004_broken.sql');
      const { rows } = await c.query("select to_regclass('public.t4') as t");
      expect(rows[0].t).toBeNull();
    } finally {
      await c.end();
    }
  });
});
