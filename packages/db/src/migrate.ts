import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { MigrationEditedError, MigrationFailedError } from './errors.js';

export type MigrationSetName = 'reference' | 'vigie';

export interface MigrationFile {
  version: string;
  name: string;
  file: string;
  sql: string;
  checksum: string;
  transactional: boolean;
}

export interface MigrateResult {
  set: MigrationSetName;
  applied: string[];
  alreadyApplied: number;
  /** Versions recorded in the ledger that this code does not know (a newer release ran here). */
  unknownApplied: string[];
}

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads a directory of numbered migrations (`0001_name.sql`), in order. */
export function readMigrations(dir: string): MigrationFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const out: MigrationFile[] = [];
  for (const file of files) {
    const m = FILE_RE.exec(file);
    if (!m) throw new Error(`nom de migration invalide : ${file} (attendu : 0001_nom_en_minuscules.sql)`);
    const sql = readFileSync(join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    out.push({
      version: m[1]!,
      name: m[2]!,
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
      transactional: !/^--\s*vigie:no-transaction\b/m.test(sql.split('\n').slice(0, 5).join('\n')),
    });
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.version)) throw new Error(`numéro de migration en double : ${m.version}`);
    seen.add(m.version);
  }
  return out;
}

const LEDGER_SQL = `
create schema if not exists vigie;
create table if not exists vigie.schema_migrations (
  migration_set text not null,
  version text not null,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  applied_by text not null default current_user,
  release text,
  duration_ms integer not null,
  primary key (migration_set, version)
);
alter table vigie.schema_migrations enable row level security;
revoke all on vigie.schema_migrations from public;
`;

/** Serialises concurrent `vigie migrate` runs across the whole cluster. */
const LOCK_KEY = "hashtext('vigie:migrate')";

/**
 * Applies the pending migrations of one set, each in its own transaction with
 * its ledger row, under an advisory lock. Re-running is a no-op; an applied
 * migration whose file changed is refused before anything is applied.
 */
export async function migrate(
  client: pg.ClientBase,
  set: MigrationSetName,
  migrations: readonly MigrationFile[],
  opts: { release?: string; onApplied?: (m: MigrationFile, ms: number) => void } = {},
): Promise<MigrateResult> {
  await client.query(`select pg_advisory_lock(${LOCK_KEY})`);
  try {
    await client.query(LEDGER_SQL);
    const { rows } = await client.query<{ version: string; checksum: string; name: string }>(
      'select version, checksum, name from vigie.schema_migrations where migration_set = $1',
      [set],
    );
    const applied = new Map(rows.map((r) => [r.version, r]));
    for (const m of migrations) {
      const row = applied.get(m.version);
      if (row && row.checksum !== m.checksum) throw new MigrationEditedError(set, m.file, row.checksum, m.checksum);
    }
    const known = new Set(migrations.map((m) => m.version));
    const result: MigrateResult = {
      set,
      applied: [],
      alreadyApplied: rows.length,
      unknownApplied: rows.filter((r) => !known.has(r.version)).map((r) => `${r.version}_${r.name}`),
    };
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      const started = performance.now();
      try {
        if (m.transactional) await client.query('begin');
        await client.query(m.sql);
        const ms = Math.round(performance.now() - started);
        await client.query(
          'insert into vigie.schema_migrations (migration_set, version, name, checksum, release, duration_ms) values ($1, $2, $3, $4, $5, $6)',
          [set, m.version, m.name, m.checksum, opts.release ?? null, ms],
        );
        if (m.transactional) await client.query('commit');
        result.applied.push(m.file);
        opts.onApplied?.(m, ms);
      } catch (err) {
        if (m.transactional) await client.query('rollback').catch(() => undefined);
        throw new MigrationFailedError(set, m.file, err);
      }
    }
    return result;
  } finally {
    await client.query(`select pg_advisory_unlock(${LOCK_KEY})`).catch(() => undefined);
  }
}

export interface MigrationStatus {
  set: MigrationSetName;
  pending: string[];
  applied: string[];
  edited: string[];
  unknownApplied: string[];
}

/** What `vigie doctor` shows: pending, applied, edited and unknown migrations. */
export async function migrationStatus(client: pg.ClientBase, set: MigrationSetName, migrations: readonly MigrationFile[]): Promise<MigrationStatus> {
  const exists = await client.query<{ ok: boolean }>("select to_regclass('vigie.schema_migrations') is not null as ok");
  const rows = exists.rows[0]?.ok
    ? (await client.query<{ version: string; checksum: string; name: string }>('select version, checksum, name from vigie.schema_migrations where migration_set = $1', [set])).rows
    : [];
  const applied = new Map(rows.map((r) => [r.version, r]));
  const known = new Set(migrations.map((m) => m.version));
  return {
    set,
    pending: migrations.filter((m) => !applied.has(m.version)).map((m) => m.file),
    applied: migrations.filter((m) => applied.has(m.version)).map((m) => m.file),
    edited: migrations.filter((m) => applied.has(m.version) && applied.get(m.version)!.checksum !== m.checksum).map((m) => m.file),
    unknownApplied: rows.filter((r) => !known.has(r.version)).map((r) => `${r.version}_${r.name}`),
  };
}
