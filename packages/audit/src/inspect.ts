/**
 * Reads, from the system catalogs, everything the static checks need. Only
 * SELECTs on pg_catalog; nothing is written. The result is a plain snapshot
 * so the checks themselves are pure functions.
 */
import type { ClientBase } from 'pg';

/** Schemas owned by Postgres, Supabase or extensions: never audited as business schemas. */
export const SYSTEM_SCHEMAS = [
  'pg_catalog', 'information_schema', 'pg_toast', 'auth', 'storage', 'realtime', '_realtime', '_analytics',
  'extensions', 'graphql', 'graphql_public', 'net', 'pgsodium', 'pgsodium_masks', 'vault', 'supabase_functions',
  'supabase_migrations', 'cron', 'pgbouncer', 'pgtle', 'repack', 'tiger', 'topology', 'pgmq', 'pgroonga',
  '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal',
];

export const API_ROLES = ['anon', 'authenticated'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export interface RolePrivileges {
  schema_usage: boolean;
  select: boolean;
  insert: boolean;
  update: boolean;
  delete: boolean;
  truncate: boolean;
}

export interface RelationInfo {
  oid: string;
  schema: string;
  name: string;
  /** r table, p partitioned table, v view, m materialized view, f foreign table */
  kind: 'r' | 'p' | 'v' | 'm' | 'f';
  rls: boolean;
  force_rls: boolean;
  security_invoker: boolean;
  owner: string;
  owner_bypasses_rls: boolean;
  policy_count: number;
  privileges: Partial<Record<ApiRole, RolePrivileges>>;
}

export interface PolicyInfo {
  schema: string;
  table: string;
  name: string;
  /** r SELECT, a INSERT, w UPDATE, d DELETE, * ALL */
  cmd: 'r' | 'a' | 'w' | 'd' | '*';
  permissive: boolean;
  roles: string[];
  qual: string | null;
  with_check: string | null;
  table_rls: boolean;
}

export interface FunctionInfo {
  schema: string;
  name: string;
  args: string;
  secdef: boolean;
  language: string;
  /** `search_path` from proconfig, or null when not fixed. */
  search_path: string | null;
  /** Body of LANGUAGE sql functions (null for others). */
  sql_body: string | null;
  /** Trigger functions cannot be called through the API (/rpc). */
  returns_trigger: boolean;
  execute: Partial<Record<ApiRole, boolean>>;
}

export interface ViewDependency {
  view_oid: string;
  /** Referenced table (transitively through other views). */
  schema: string;
  name: string;
  rls: boolean;
  force_rls: boolean;
  owner: string;
}

export interface SchemaInfo {
  name: string;
  usage: Partial<Record<ApiRole, boolean>>;
  create: Partial<Record<ApiRole, boolean>>;
  /** Relations of the schema on which anon holds at least one privilege. */
  anon_relations: number;
  /** Functions of the schema anon may execute. */
  anon_functions: number;
}

export interface CatalogSnapshot {
  database: string;
  server_version: string;
  roles: Record<ApiRole, boolean>;
  relations: RelationInfo[];
  policies: PolicyInfo[];
  functions: FunctionInfo[];
  view_dependencies: ViewDependency[];
  schemas: SchemaInfo[];
}

const asBool = (v: unknown): boolean => v === true || v === 't';

export async function readCatalog(client: ClientBase): Promise<CatalogSnapshot> {
  const sys = SYSTEM_SCHEMAS;
  const head = await client.query<{ db: string; version: string }>(
    `select current_database() as db, current_setting('server_version') as version`,
  );
  const rolesRes = await client.query<{ rolname: string }>(
    `select rolname from pg_catalog.pg_roles where rolname = any($1::text[])`,
    [[...API_ROLES]],
  );
  const present = new Set(rolesRes.rows.map((r) => r.rolname));
  const roles: Record<ApiRole, boolean> = { anon: present.has('anon'), authenticated: present.has('authenticated') };
  const existingRoles = API_ROLES.filter((r) => roles[r]);

  const rel = await client.query<{
    oid: string; schema: string; name: string; kind: RelationInfo['kind']; rls: boolean; force_rls: boolean;
    reloptions: string[] | null; owner: string; owner_bypasses_rls: boolean; policy_count: number;
  }>(
    `select c.oid::text as oid, n.nspname as schema, c.relname as name, c.relkind::text as kind,
            c.relrowsecurity as rls, c.relforcerowsecurity as force_rls, c.reloptions,
            o.rolname as owner, (o.rolsuper or o.rolbypassrls) as owner_bypasses_rls,
            (select count(*) from pg_catalog.pg_policy p where p.polrelid = c.oid)::int as policy_count
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_roles o on o.oid = c.relowner
      where c.relkind in ('r','p','v','m','f')
        and n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_%'
        and not exists (select 1 from pg_catalog.pg_depend d
                         where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by n.nspname, c.relname`,
    [sys],
  );
  const relations: RelationInfo[] = rel.rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    kind: r.kind,
    rls: asBool(r.rls),
    force_rls: asBool(r.force_rls),
    security_invoker: (r.reloptions ?? []).some((o) =>
      ['security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'].includes(o.toLowerCase()),
    ),
    owner: r.owner,
    owner_bypasses_rls: asBool(r.owner_bypasses_rls),
    policy_count: r.policy_count,
    privileges: {},
  }));
  const byOid = new Map(relations.map((r) => [r.oid, r]));
  for (const role of existingRoles) {
    const privs = await client.query<{
      oid: string; usage: boolean; sel: boolean; ins: boolean; upd: boolean; del: boolean; trunc: boolean;
    }>(
      `select c.oid::text as oid,
              pg_catalog.has_schema_privilege($1, c.relnamespace, 'USAGE') as usage,
              pg_catalog.has_any_column_privilege($1, c.oid, 'SELECT') as sel,
              pg_catalog.has_any_column_privilege($1, c.oid, 'INSERT') as ins,
              pg_catalog.has_any_column_privilege($1, c.oid, 'UPDATE') as upd,
              pg_catalog.has_table_privilege($1, c.oid, 'DELETE') as del,
              pg_catalog.has_table_privilege($1, c.oid, 'TRUNCATE') as trunc
         from pg_catalog.pg_class c where c.oid = any($2::oid[])`,
      [role, relations.map((r) => r.oid)],
    );
    for (const p of privs.rows) {
      const target = byOid.get(p.oid);
      if (!target) continue;
      target.privileges[role] = {
        schema_usage: asBool(p.usage),
        select: asBool(p.sel),
        insert: asBool(p.ins),
        update: asBool(p.upd),
        delete: asBool(p.del),
        truncate: asBool(p.trunc),
      };
    }
  }

  const pol = await client.query<{
    schema: string; table: string; name: string; cmd: PolicyInfo['cmd']; permissive: boolean; roles: string[];
    qual: string | null; with_check: string | null; table_rls: boolean;
  }>(
    `select n.nspname as schema, c.relname as table, p.polname as name, p.polcmd::text as cmd,
            p.polpermissive as permissive,
            array(select case when r = 0 then 'public' else pg_catalog.pg_get_userbyid(r)::text end
                    from unnest(p.polroles) as r order by 1) as roles,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual,
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as with_check,
            c.relrowsecurity as table_rls
       from pg_catalog.pg_policy p
       join pg_catalog.pg_class c on c.oid = p.polrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_%'
      order by n.nspname, c.relname, p.polname`,
    [sys],
  );
  const policies: PolicyInfo[] = pol.rows.map((p) => ({ ...p, permissive: asBool(p.permissive), table_rls: asBool(p.table_rls) }));

  const fn = await client.query<{
    oid: string; schema: string; name: string; args: string; secdef: boolean; language: string;
    config: string[] | null; sql_body: string | null; returns_trigger: boolean;
  }>(
    `select p.oid::text as oid, n.nspname as schema, p.proname as name,
            pg_catalog.pg_get_function_identity_arguments(p.oid) as args,
            p.prosecdef as secdef, l.lanname as language, p.proconfig as config,
            case when l.lanname = 'sql' then p.prosrc end as sql_body,
            p.prorettype in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype) as returns_trigger
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       join pg_catalog.pg_language l on l.oid = p.prolang
      where p.prokind in ('f','p')
        and n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_%'
        and not exists (select 1 from pg_catalog.pg_depend d
                         where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
      order by n.nspname, p.proname, 4`,
    [sys],
  );
  const functions: FunctionInfo[] = fn.rows.map((f) => {
    const sp = (f.config ?? []).find((c) => c.startsWith('search_path='));
    return {
      schema: f.schema,
      name: f.name,
      args: f.args,
      secdef: asBool(f.secdef),
      language: f.language,
      search_path: sp === undefined ? null : sp.slice('search_path='.length),
      sql_body: f.sql_body && f.sql_body.trim() !== '' ? f.sql_body : null,
      returns_trigger: asBool(f.returns_trigger),
      execute: {},
    };
  });
  const fnByOid = new Map(fn.rows.map((f, i) => [f.oid, functions[i]]));
  for (const role of existingRoles) {
    const ex = await client.query<{ oid: string; ok: boolean }>(
      `select p.oid::text as oid, pg_catalog.has_function_privilege($1, p.oid, 'EXECUTE') as ok
         from pg_catalog.pg_proc p where p.oid = any($2::oid[])`,
      [role, fn.rows.map((f) => f.oid)],
    );
    for (const e of ex.rows) {
      const target = fnByOid.get(e.oid);
      if (target) target.execute[role] = asBool(e.ok);
    }
  }

  const deps = await client.query<ViewDependency & { rls: boolean; force_rls: boolean }>(
    `with recursive deps(view_oid, ref_oid, depth) as (
        select r.ev_class, d.refobjid, 1
          from pg_catalog.pg_rewrite r
          join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
                                     and d.refclassid = 'pg_catalog.pg_class'::regclass
         where d.refobjid <> r.ev_class
        union
        select deps.view_oid, d.refobjid, deps.depth + 1
          from deps
          join pg_catalog.pg_rewrite r on r.ev_class = deps.ref_oid
          join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
                                     and d.refclassid = 'pg_catalog.pg_class'::regclass
         where d.refobjid <> r.ev_class and deps.depth < 16
     )
     select distinct deps.view_oid::text as view_oid, n.nspname as schema, c.relname as name,
            c.relrowsecurity as rls, c.relforcerowsecurity as force_rls, pg_catalog.pg_get_userbyid(c.relowner) as owner
       from deps
       join pg_catalog.pg_class c on c.oid = deps.ref_oid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r','p')`,
  );
  const view_dependencies: ViewDependency[] = deps.rows.map((d) => ({ ...d, rls: asBool(d.rls), force_rls: asBool(d.force_rls) }));

  const schemas: SchemaInfo[] = [];
  const sch = await client.query<{ oid: string; name: string }>(
    `select n.oid::text as oid, n.nspname as name from pg_catalog.pg_namespace n
      where n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_%' order by n.nspname`,
    [sys],
  );
  for (const s of sch.rows) {
    const info: SchemaInfo = { name: s.name, usage: {}, create: {}, anon_relations: 0, anon_functions: 0 };
    for (const role of existingRoles) {
      const r = await client.query<{ usage: boolean; create: boolean }>(
        `select pg_catalog.has_schema_privilege($1, $2::oid, 'USAGE') as usage,
                pg_catalog.has_schema_privilege($1, $2::oid, 'CREATE') as create`,
        [role, s.oid],
      );
      info.usage[role] = asBool(r.rows[0]?.usage);
      info.create[role] = asBool(r.rows[0]?.create);
    }
    info.anon_relations = relations.filter((r) => {
      const p = r.privileges.anon;
      return r.schema === s.name && !!p && (p.select || p.insert || p.update || p.delete || p.truncate);
    }).length;
    info.anon_functions = functions.filter((f) => f.schema === s.name && f.execute.anon === true).length;
    schemas.push(info);
  }

  return {
    database: head.rows[0]?.db ?? '',
    server_version: head.rows[0]?.version ?? '',
    roles,
    relations,
    policies,
    functions,
    view_dependencies,
    schemas,
  };
}
