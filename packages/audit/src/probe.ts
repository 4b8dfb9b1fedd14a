/**
 * Dynamic probe: acts as PostgREST would for two callers — `anon` and an
 * `authenticated` user whose JWT `sub` has no row in profils — and tries
 * SELECT, INSERT, UPDATE and DELETE on every exposed relation.
 *
 * Safety: everything runs inside ONE transaction that is always rolled back
 * (finally → ROLLBACK), each attempt inside a savepoint that is rolled back
 * right after it; statement and lock timeouts bound every attempt; deferrable
 * constraints are made immediate so they are checked at statement time.
 * Side effects that survive a rollback: sequence values consumed by INSERTs.
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase } from 'pg';
import { AuditError } from './errors.js';
import type { ApiRole, CatalogSnapshot, RelationInfo } from './inspect.js';
import type { ProbeOutcome, ProbeResult, ProbeRole, ProbeRow } from './types.js';

export interface ProbeOptions {
  exposedSchemas: string[];
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export interface ProbeRun {
  rows: ProbeRow[];
  notes: string[];
}

/** Always double-quotes (safe for reserved words). */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function qualified(r: { schema: string; name: string }): string {
  return `${ident(r.schema)}.${ident(r.name)}`;
}

interface PgErrorLike {
  code?: string;
  message: string;
  where?: string;
  table?: string;
}

function asPgError(err: unknown): PgErrorLike {
  if (err instanceof Error) {
    const e = err as Error & Partial<PgErrorLike>;
    const out: PgErrorLike = { message: e.message };
    if (typeof e.code === 'string') out.code = e.code;
    if (typeof e.where === 'string') out.where = e.where;
    if (typeof e.table === 'string') out.table = e.table;
    return out;
  }
  return { message: String(err) };
}

type Command = 'select' | 'insert' | 'update' | 'delete';

interface Identity {
  probeRole: ProbeRole;
  dbRole: ApiRole;
  claims: Record<string, string>;
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: boolean;
  hasdefault: boolean;
  identity: string;
  generated: string;
  category: string;
  first_enum: string | null;
}

interface InsertPlan {
  columns: string[];
  types: string[];
  values: Array<string | null>;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** Classifies a failed attempt. */
function classify(err: PgErrorLike, target: RelationInfo, role: ApiRole, cmd: Command): ProbeResult {
  const code = err.code ?? '';
  const base = { sqlstate: code, message: firstLine(err.message) };
  const inFunction = /function|fonction/i.test(err.where ?? '');
  if (code === '42501') {
    if (inFunction) return { outcome: 'denied_trigger', ...base };
    const p = target.privileges[role];
    const granted = !!p && p.schema_usage && p[cmd];
    if (!granted) return { outcome: 'denied_privilege', ...base };
    if (/row-level security|row level security|niveau ligne/i.test(err.message)) return { outcome: 'denied_rls', ...base };
    return { outcome: 'denied_privilege', ...base };
  }
  if (code.startsWith('23')) {
    const sameTable = err.table === undefined || err.table === target.name;
    return { outcome: sameTable && !inFunction ? 'denied_constraint' : 'denied_trigger', ...base };
  }
  if (code === 'P0001' || inFunction) return { outcome: 'denied_trigger', ...base };
  return { outcome: 'error', ...base };
}

function noRowsOutcome(total: number | null): ProbeOutcome {
  return total !== null && total > 0 ? 'denied_rls' : 'inconclusive';
}

const KIND: Record<RelationInfo['kind'], ProbeRow['kind']> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
};

export async function runProbe(client: ClientBase, snap: CatalogSnapshot, opts: ProbeOptions): Promise<ProbeRun> {
  const notes: string[] = [];
  const identities: Identity[] = [];
  if (snap.roles.anon) {
    identities.push({ probeRole: 'anon', dbRole: 'anon', claims: { role: 'anon', iss: 'vigie-probe' } });
  } else notes.push('Rôle anon absent : sonde anon sautée.');
  if (snap.roles.authenticated) {
    const sub = randomUUID();
    identities.push({
      probeRole: 'authenticated_sans_profil',
      dbRole: 'authenticated',
      claims: { sub, role: 'authenticated', aud: 'authenticated', email: 'vigie-probe@invalid.local', iss: 'vigie-probe' },
    });
    notes.push(`Utilisateur sans profil simulé : sub=${sub} (aucune ligne profils).`);
  } else notes.push('Rôle authenticated absent : sonde sans profil sautée.');
  const targets = snap.relations.filter((r) => opts.exposedSchemas.includes(r.schema));
  if (identities.length === 0 || targets.length === 0) return { rows: [], notes };

  const idle = await client.query<{ idle: boolean }>(`select now() = statement_timestamp() as idle`);
  if (idle.rows[0]?.idle !== true) {
    throw new AuditError(
      'AUDIT_CLIENT_IN_TRANSACTION',
      'The probe needs a client outside any transaction (it opens and rolls back its own).',
    );
  }
  const su = await client.query<{ su: boolean }>(`select rolsuper as su from pg_catalog.pg_roles where rolname = current_user`);
  const superuser = su.rows[0]?.su === true;
  if (!superuser) notes.push('Connexion non superutilisateur : pas de rejeu sans triggers pour les refus par trigger.');

  const rows: ProbeRow[] = [];
  let failure: { err: unknown } | undefined;
  await client.query('BEGIN');
  try {
    await client.query(`select set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)`, [
      String(opts.statementTimeoutMs),
      String(opts.lockTimeoutMs),
    ]);
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    await client.query('SAVEPOINT vigie_probe');

    // Which identities can the auditor become?
    const usable: Identity[] = [];
    for (const id of identities) {
      try {
        await client.query(`SET LOCAL ROLE ${ident(id.dbRole)}`);
        usable.push(id);
      } catch (err: unknown) {
        notes.push(`SET ROLE ${id.dbRole} impossible (${firstLine(asPgError(err).message)}) : sonde ${id.probeRole} sautée.`);
      }
      await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
    }

    const attempt = async (sql: string, params: unknown[], id: Identity, replica: boolean) => {
      await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
      if (replica) await client.query(`SET LOCAL session_replication_role = replica`);
      await client.query(`SET LOCAL ROLE ${ident(id.dbRole)}`);
      await client.query(
        `select set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true),
                set_config('request.jwt.claim.role', $3, true)`,
        [JSON.stringify(id.claims), id.claims.sub ?? '', id.dbRole],
      );
      try {
        const res = await client.query<{ n?: string }>(sql, params);
        return { ok: true as const, rowCount: res.rowCount ?? 0, n: res.rows[0]?.n };
      } catch (err: unknown) {
        return { ok: false as const, err: asPgError(err) };
      } finally {
        await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
      }
    };

    for (const target of targets) {
      await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
      const total = await countRows(client, target);
      const isTable = target.kind === 'r' || target.kind === 'p';
      const plan = isTable ? await buildInsertPlan(client, target) : null;
      const updateColumn = isTable ? await pickUpdateColumn(client, target) : null;
      await client.query('ROLLBACK TO SAVEPOINT vigie_probe');

      for (const id of usable) {
        const success = (cmd: Command, rowCount: number, n: string | undefined): ProbeResult => {
          const reached = cmd === 'select' ? Number(n ?? 0) : rowCount;
          if (reached > 0) return { outcome: 'allowed', rows: reached };
          return { outcome: noRowsOutcome(total), rows: 0 };
        };
        const run = async (cmd: Command, sql: string, params: unknown[]): Promise<ProbeResult> => {
          const r = await attempt(sql, params, id, false);
          if (r.ok) return success(cmd, r.rowCount, r.n);
          const res = classify(r.err, target, id.dbRole, cmd);
          if (res.outcome === 'denied_trigger' && superuser) {
            const replay = await attempt(sql, params, id, true);
            res.rls_without_triggers = replay.ok
              ? success(cmd, replay.rowCount, replay.n).outcome
              : classify(replay.err, target, id.dbRole, cmd).outcome;
          }
          return res;
        };
        const rel = qualified(target);
        const select = await run('select', `select count(*)::text as n from (select 1 from ${rel} limit 100000) s`, []);
        let insert: ProbeResult = { outcome: 'not_applicable' };
        let update: ProbeResult = { outcome: 'not_applicable' };
        let del: ProbeResult = { outcome: 'not_applicable' };
        if (isTable && plan) {
          const sql =
            plan.columns.length === 0
              ? `insert into ${rel} default values`
              : `insert into ${rel} (${plan.columns.map(ident).join(', ')}) values (${plan.types
                  .map((t, i) => `$${i + 1}::text::${t}`)
                  .join(', ')})`;
          insert = await run('insert', sql, plan.values);
          update = updateColumn
            ? await run('update', `update ${rel} set ${ident(updateColumn)} = ${ident(updateColumn)}`, [])
            : { outcome: 'not_applicable' };
          del = await run('delete', `delete from ${rel}`, []);
        }
        rows.push({
          role: id.probeRole,
          table: `${target.schema}.${target.name}`,
          kind: KIND[target.kind],
          total_rows: total,
          select,
          insert,
          update,
          delete: del,
        });
      }
    }
  } catch (err: unknown) {
    failure = { err };
  }
  try {
    await client.query('ROLLBACK');
  } catch (err: unknown) {
    throw new AuditError('AUDIT_PROBE_ROLLBACK_FAILED', 'The probe transaction could not be rolled back; discard this connection.', {
      cause: err,
    });
  }
  if (failure) throw failure.err;
  return { rows, notes };
}

async function countRows(client: ClientBase, target: RelationInfo): Promise<number | null> {
  try {
    const r = await client.query<{ n: string }>(`select count(*)::text as n from (select 1 from ${qualified(target)} limit 100000) s`);
    return Number(r.rows[0]?.n ?? 0);
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
    return null;
  }
}

async function pickUpdateColumn(client: ClientBase, target: RelationInfo): Promise<string | null> {
  const r = await client.query<{ name: string }>(
    `select a.attname as name from pg_catalog.pg_attribute a
      where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' and a.attidentity <> 'a'
      order by a.attnum limit 1`,
    [target.oid],
  );
  return r.rows[0]?.name ?? null;
}

function synthetic(col: ColumnInfo): string | null {
  if (col.type === 'uuid') return randomUUID();
  switch (col.category) {
    case 'S':
      return 'vigie-probe';
    case 'N':
      return '1';
    case 'B':
      return 'false';
    case 'D':
      return col.type === 'date' ? '2000-01-01' : '2000-01-01T00:00:00Z';
    case 'A':
      return '{}';
    case 'E':
      return col.first_enum;
    case 'U':
      return col.type === 'json' || col.type === 'jsonb' ? '{}' : null;
    default:
      return null;
  }
}

/**
 * Builds a test row for INSERT, as the auditor (before any role switch):
 * copies an existing row when there is one (so CHECKs and FKs have a chance
 * to pass), takes referenced keys for foreign keys, gives fresh values to
 * unique columns, and falls back on type-based placeholders for NOT NULL
 * columns. Columns with a default are left to their default.
 */
async function buildInsertPlan(client: ClientBase, target: RelationInfo): Promise<InsertPlan> {
  const cols = await client.query<ColumnInfo>(
    `select a.attname as name, pg_catalog.format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
            a.atthasdef as hasdefault, a.attidentity::text as identity, a.attgenerated::text as generated,
            coalesce(bt.typcategory, t.typcategory)::text as category,
            (select e.enumlabel from pg_catalog.pg_enum e where e.enumtypid = coalesce(bt.oid, t.oid)
              order by e.enumsortorder limit 1) as first_enum
       from pg_catalog.pg_attribute a
       join pg_catalog.pg_type t on t.oid = a.atttypid
       left join pg_catalog.pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
      where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [target.oid],
  );
  const uniques = await client.query<{ cols: string[] }>(
    `select array(select a.attname::text from unnest(i.indkey) k join pg_catalog.pg_attribute a
                   on a.attrelid = i.indrelid and a.attnum = k) as cols
       from pg_catalog.pg_index i where i.indrelid = $1::oid and i.indisunique`,
    [target.oid],
  );
  const fks = await client.query<{ col: string; ref: string }>(
    `select a.attname as col,
            format('select %I::text as v from %I.%I where %I is not null limit 1', ra.attname, rn.nspname, rc.relname, ra.attname) as ref
       from pg_catalog.pg_constraint c
       join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
       join pg_catalog.pg_class rc on rc.oid = c.confrelid
       join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
       join pg_catalog.pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = c.confkey[1]
      where c.conrelid = $1::oid and c.contype = 'f' and array_length(c.conkey, 1) = 1`,
    [target.oid],
  );
  const columns = cols.rows.filter((c) => c.generated === '' && c.identity !== 'a');
  let sample: Record<string, string | null> | undefined;
  if (columns.length > 0) {
    try {
      const r = await client.query<Record<string, string | null>>(
        `select ${columns.map((c) => `${ident(c.name)}::text as ${ident(c.name)}`).join(', ')} from ${qualified(target)} limit 1`,
      );
      sample = r.rows[0];
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
    }
  }
  const fkOf = new Map(fks.rows.map((f) => [f.col, f.ref]));
  const singleUnique = new Set(uniques.rows.filter((u) => u.cols.length === 1).map((u) => u.cols[0] ?? ''));
  const plan: InsertPlan = { columns: [], types: [], values: [] };
  const chosen = new Map<string, string | null>();
  for (const c of columns) {
    if (c.hasdefault || c.identity === 'd') continue;
    let v: string | null | undefined;
    if (singleUnique.has(c.name)) v = await freshValue(client, target, c);
    else if (sample && sample[c.name] !== undefined && sample[c.name] !== null) v = sample[c.name];
    else if (fkOf.has(c.name)) {
      try {
        const r = await client.query<{ v: string }>(fkOf.get(c.name) ?? '');
        v = r.rows[0]?.v ?? null;
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
        v = null;
      }
    } else if (c.notnull) v = synthetic(c);
    if (v === undefined || v === null) continue;
    chosen.set(c.name, v);
  }
  // A copied row collides with multi-column unique keys: perturb one column of each.
  for (const u of uniques.rows) {
    if (u.cols.length < 2 || !u.cols.every((c) => chosen.has(c))) continue;
    const victim = columns.find((c) => u.cols.includes(c.name) && !fkOf.has(c.name) && ['D', 'N', 'S'].includes(c.category));
    if (victim) chosen.set(victim.name, await freshValue(client, target, victim));
  }
  for (const c of columns) {
    if (!chosen.has(c.name)) continue;
    plan.columns.push(c.name);
    plan.types.push(c.type);
    plan.values.push(chosen.get(c.name) ?? null);
  }
  return plan;
}

async function freshValue(client: ClientBase, target: RelationInfo, c: ColumnInfo): Promise<string | null> {
  if (c.type === 'uuid') return randomUUID();
  if (c.category === 'S') return `vigie-probe-${randomUUID().slice(0, 8)}`;
  if (c.category === 'D') return c.type === 'date' ? '1901-01-01' : '1901-01-01T00:00:00Z';
  if (c.category === 'N') {
    try {
      const r = await client.query<{ v: string }>(
        `select (coalesce(max(${ident(c.name)}), 0) + 1)::text as v from ${qualified(target)}`,
      );
      return r.rows[0]?.v ?? '1';
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT vigie_probe');
      return '1';
    }
  }
  return synthetic(c);
}
