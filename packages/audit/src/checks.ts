/**
 * Static checks: pure functions from a catalog snapshot to findings.
 * One function per family; every finding code is produced in exactly one place.
 */
import { makeFinding } from './catalog.js';
import type { ApiRole, CatalogSnapshot, FunctionInfo, PolicyInfo, RelationInfo } from './inspect.js';
import {
  findProfilsIdUidComparisons,
  hasNullAuthDisjunct,
  isAlwaysTrue,
  parseExpression,
  referencesUserMetadata,
} from './policy-expr.js';
import { type Node, parseSql, quoteIdent, quoteQualified } from './sql-ast.js';
import type { Finding } from './types.js';

const CMD_NAME: Record<PolicyInfo['cmd'], string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

function policyObject(p: PolicyInfo): string {
  return `${p.schema}.${p.table}.${quoteIdent(p.name)}`;
}

function policyRef(p: PolicyInfo): string {
  return `${quoteIdent(p.name)} ON ${quoteQualified(p.schema, p.table)}`;
}

function functionObject(f: FunctionInfo): string {
  return `${f.schema}.${f.name}(${f.args})`;
}

function functionRef(f: FunctionInfo): string {
  return `${quoteQualified(f.schema, f.name)}(${f.args})`;
}

/** A relation is exposed when it sits in an exposed schema and an API role can use the schema and the relation. */
export function exposedTo(r: RelationInfo, role: ApiRole): boolean {
  const p = r.privileges[role];
  return !!p && p.schema_usage && (p.select || p.insert || p.update || p.delete);
}

function anonHoldsPrivilegeFor(snap: CatalogSnapshot, p: PolicyInfo): boolean {
  const rel = snap.relations.find((r) => r.schema === p.schema && r.name === p.table);
  const priv = rel?.privileges.anon;
  if (!priv?.schema_usage) return false;
  switch (p.cmd) {
    case 'r':
      return priv.select;
    case 'a':
      return priv.insert;
    case 'w':
      return priv.update;
    case 'd':
      return priv.delete;
    default:
      return priv.select || priv.insert || priv.update || priv.delete;
  }
}

async function safeParse(expr: string | null): Promise<Node | undefined> {
  if (expr === null) return undefined;
  try {
    return await parseExpression(expr);
  } catch {
    return undefined;
  }
}

export async function checkPolicies(snap: CatalogSnapshot): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const p of snap.policies) {
    const obj = policyObject(p);
    const cmd = CMD_NAME[p.cmd];
    const roles = `{${p.roles.join(',')}}`;
    const toPublic = p.roles.includes('public');
    const reachableByAnon = toPublic || p.roles.includes('anon');
    // Does anon hold the table privilege the policy's command needs? Without it the policy is latent.
    const anonGranted = anonHoldsPrivilegeFor(snap, p);
    const qual = await safeParse(p.qual);
    const check = await safeParse(p.with_check);
    const meta = { table: `${p.schema}.${p.table}`, policy: p.name, command: cmd, roles: p.roles, qual: p.qual, with_check: p.with_check, permissive: p.permissive };

    if (toPublic) {
      out.push(
        makeFinding('RLS_POLICY_PUBLIC_ROLE', obj, {
          detail: `La politique « ${p.name} » (${cmd}) sur ${p.schema}.${p.table} s’applique à ${roles} : elle vaut aussi pour anon, donc pour quiconque possède la clé anon publiée dans le bundle web. USING: ${p.qual ?? '—'} ; WITH CHECK: ${p.with_check ?? '—'}.`,
          detail_en: `Policy "${p.name}" (${cmd}) on ${p.schema}.${p.table} applies to ${roles}: it also covers anon, i.e. anyone holding the anon key shipped in the web bundle. USING: ${p.qual ?? '—'}; WITH CHECK: ${p.with_check ?? '—'}.`,
          fix: `Standard « 0 politique public » : ALTER POLICY ${policyRef(p)} TO authenticated; puis restreindre l’expression au rôle métier (profils.user_id = auth.uid()). Si la politique n’a plus d’usage : DROP POLICY ${policyRef(p)};`,
          fix_en: `"0 public policy" standard: ALTER POLICY ${policyRef(p)} TO authenticated; then scope the expression to the business role (profils.user_id = auth.uid()). If the policy is no longer needed: DROP POLICY ${policyRef(p)};`,
          meta,
        }),
      );
    } else if (p.roles.includes('anon')) {
      out.push(
        makeFinding('RLS_POLICY_ANON_ROLE', obj, {
          detail: `La politique « ${p.name} » (${cmd}) sur ${p.schema}.${p.table} est attribuée explicitement à anon : des appels sans connexion y ont accès.`,
          detail_en: `Policy "${p.name}" (${cmd}) on ${p.schema}.${p.table} is granted to anon explicitly: unauthenticated calls get access.`,
          fix: `Justifier l’accès anonyme ou : ALTER POLICY ${policyRef(p)} TO authenticated;`,
          fix_en: `Justify anonymous access or: ALTER POLICY ${policyRef(p)} TO authenticated;`,
          meta,
        }),
      );
    }

    if (!p.table_rls) continue; // policies of a table without RLS are reported by checkTables
    if (!p.permissive) continue; // a restrictive policy can only narrow access
    const usingApplies = p.cmd !== 'a';
    const checkApplies = p.cmd !== 'r' && p.cmd !== 'd';
    // WITH CHECK defaults to USING for UPDATE/ALL.
    const effectiveCheck = check ?? (p.cmd === 'w' || p.cmd === '*' ? qual : undefined);
    const usingTrue = usingApplies && isAlwaysTrue(qual);
    const checkTrue = checkApplies && isAlwaysTrue(effectiveCheck);
    const clauses = [usingTrue ? `USING (${p.qual})` : '', checkTrue ? `WITH CHECK (${p.with_check ?? p.qual})` : '']
      .filter(Boolean)
      .join(' et ');
    if ((usingTrue || checkTrue) && reachableByAnon) {
      out.push(
        makeFinding('RLS_POLICY_ALWAYS_TRUE_ANON', obj, {
          severity: anonGranted ? 'ERROR' : 'WARN',
          detail: `La politique « ${p.name} » (${cmd}, rôles ${roles}) a ${clauses} : anon passe sur toutes les lignes de ${p.schema}.${p.table}${anonGranted ? '' : ' dès qu’il en recevra le privilège (aucun GRANT à anon aujourd’hui : faille latente)'}.`,
          detail_en: `Policy "${p.name}" (${cmd}, roles ${roles}) has an always-true clause: anon passes on every row of ${p.schema}.${p.table}${anonGranted ? '' : ' as soon as it is granted the privilege (no GRANT to anon today: a latent hole)'}.`,
          fix: `DROP POLICY ${policyRef(p)}; puis, si un accès est nécessaire, CREATE POLICY … TO authenticated USING (<condition sur le profil>);`,
          fix_en: `DROP POLICY ${policyRef(p)}; then, if access is needed, CREATE POLICY … TO authenticated USING (<profile-based condition>);`,
          meta,
        }),
      );
    } else if ((checkTrue || (usingTrue && p.cmd !== 'r')) && p.roles.includes('authenticated')) {
      out.push(
        makeFinding('RLS_POLICY_ALWAYS_TRUE_WRITE', obj, {
          detail: `La politique d’écriture « ${p.name} » (${cmd}, rôles ${roles}) a ${clauses} : tout utilisateur connecté, même sans profil ni rôle métier, écrit sans restriction dans ${p.schema}.${p.table}.`,
          detail_en: `Write policy "${p.name}" (${cmd}, roles ${roles}) is always true: any signed-in user, even without a profile or business role, writes freely to ${p.schema}.${p.table}.`,
          fix: `Restreindre l’expression au rôle métier, par ex. ALTER POLICY ${policyRef(p)} WITH CHECK (exists (select 1 from public.profils p where p.user_id = auth.uid() and p.role in ('admin','directeur','gerant')));`,
          fix_en: `Scope the expression to the business role, e.g. ALTER POLICY ${policyRef(p)} WITH CHECK (exists (select 1 from public.profils p where p.user_id = auth.uid() and p.role in ('admin','directeur','gerant')));`,
          meta,
        }),
      );
    }

    if (usingApplies && hasNullAuthDisjunct(qual)) {
      out.push(
        makeFinding('RLS_POLICY_NULL_AUTH_DISJUNCT', obj, {
          severity: reachableByAnon && anonGranted ? 'ERROR' : 'WARN',
          detail: `USING (${p.qual}) contient au premier niveau un « OR auth.uid() IS NULL » (ou équivalent) : la politique est vraie pour tout appel sans JWT${reachableByAnon ? ', et elle s’applique à anon' : ''}.`,
          detail_en: `USING (${p.qual}) has a top-level "OR auth.uid() IS NULL" (or equivalent): the policy is true for any call without a JWT${reachableByAnon ? ', and it applies to anon' : ''}.`,
          fix: `Remplacer le « IS NULL » par « IS NOT NULL AND … » ou supprimer ce cas : ALTER POLICY ${policyRef(p)} USING (<condition sans branche NULL>);`,
          fix_en: `Replace "IS NULL" with "IS NOT NULL AND …" or drop that branch: ALTER POLICY ${policyRef(p)} USING (<condition without a NULL branch>);`,
          meta,
        }),
      );
    }
    if (referencesUserMetadata(qual) || referencesUserMetadata(check)) {
      out.push(
        makeFinding('RLS_POLICY_USER_METADATA', obj, {
          detail: `La politique « ${p.name} » lit user_metadata, que l’utilisateur modifie lui-même (auth.updateUser) : il peut s’attribuer le rôle testé.`,
          detail_en: `Policy "${p.name}" reads user_metadata, which end users edit themselves (auth.updateUser): they can grant themselves the tested role.`,
          fix: `Lire le rôle dans public.profils (profils.user_id = auth.uid()) ou dans app_metadata, jamais dans user_metadata : ALTER POLICY ${policyRef(p)} USING (…);`,
          fix_en: `Read the role from public.profils (profils.user_id = auth.uid()) or app_metadata, never user_metadata: ALTER POLICY ${policyRef(p)} USING (…);`,
          meta,
        }),
      );
    }
    const cmp = [...findProfilsIdUidComparisons(qual, p.table), ...findProfilsIdUidComparisons(check, p.table)];
    if (cmp.length > 0) {
      out.push(
        makeFinding('RLS_POLICY_PROFILS_ID_UID', obj, {
          detail: `La politique « ${p.name} » compare profils.id à auth.uid(). profils.id est un uuid propre au profil ; l’utilisateur est profils.user_id. La condition ne correspond jamais au bon profil (bogue connu de ML_PP, PHASE2_TECH_DEBT : system_alerts_update_admin_directeur).`,
          detail_en: `Policy "${p.name}" compares profils.id with auth.uid(). profils.id is the profile's own uuid; the user is profils.user_id. The condition never matches the right profile (ML_PP's known bug, PHASE2_TECH_DEBT: system_alerts_update_admin_directeur).`,
          fix: `Remplacer profils.id par profils.user_id dans l’expression : ALTER POLICY ${policyRef(p)} USING (… p.user_id = auth.uid() …);`,
          fix_en: `Use profils.user_id instead of profils.id: ALTER POLICY ${policyRef(p)} USING (… p.user_id = auth.uid() …);`,
          meta,
        }),
      );
    }
  }
  return out;
}

export function checkTables(snap: CatalogSnapshot, exposedSchemas: string[]): Finding[] {
  const out: Finding[] = [];
  for (const r of snap.relations) {
    const qn = `${r.schema}.${r.name}`;
    const ref = quoteQualified(r.schema, r.name);
    const isTable = r.kind === 'r' || r.kind === 'p';
    const exposedSchema = exposedSchemas.includes(r.schema);
    if (isTable && !r.rls && r.policy_count > 0) {
      const names = snap.policies.filter((p) => p.schema === r.schema && p.table === r.name).map((p) => p.name);
      out.push(
        makeFinding('RLS_POLICY_ON_DISABLED_TABLE', qn, {
          detail: `${qn} porte ${names.length} politique(s) (${names.join(', ')}) mais la RLS est désactivée : aucune n’est appliquée, les droits de table seuls décident.`,
          detail_en: `${qn} has ${names.length} polic(ies) (${names.join(', ')}) but RLS is disabled: none is enforced, table grants alone decide.`,
          fix: `Vérifier les politiques puis : ALTER TABLE ${ref} ENABLE ROW LEVEL SECURITY;`,
          fix_en: `Review the policies, then: ALTER TABLE ${ref} ENABLE ROW LEVEL SECURITY;`,
          meta: { policies: names },
        }),
      );
    }
    if (!exposedSchema) continue;
    const exposedRoles = (['anon', 'authenticated'] as const).filter((role) => exposedTo(r, role));
    if (isTable && !r.rls) {
      out.push(
        makeFinding('RLS_DISABLED_EXPOSED', qn, {
          severity: exposedRoles.length > 0 ? 'ERROR' : 'WARN',
          detail:
            exposedRoles.length > 0
              ? `${qn} est dans le schéma exposé « ${r.schema} », ${exposedRoles.join(' et ')} y ont des droits, et la RLS est désactivée : toutes les lignes sont accessibles par l’API REST.`
              : `${qn} est dans le schéma exposé « ${r.schema} » sans RLS ; aucun rôle de l’API n’y a de droit aujourd’hui, mais un seul GRANT suffirait à l’exposer.`,
          detail_en:
            exposedRoles.length > 0
              ? `${qn} is in exposed schema "${r.schema}", ${exposedRoles.join(' and ')} hold privileges on it, and RLS is disabled: every row is reachable through the REST API.`
              : `${qn} is in exposed schema "${r.schema}" without RLS; no API role holds a privilege today, but a single GRANT would expose it.`,
          fix: `ALTER TABLE ${ref} ENABLE ROW LEVEL SECURITY; puis des politiques TO authenticated (jamais TO public).`,
          fix_en: `ALTER TABLE ${ref} ENABLE ROW LEVEL SECURITY; then policies TO authenticated (never TO public).`,
          meta: { exposed_to: exposedRoles },
        }),
      );
    }
    if (isTable && r.rls && r.policy_count === 0) {
      out.push(
        makeFinding('RLS_ENABLED_NO_POLICY', qn, {
          detail: `${qn} a la RLS activée sans politique : l’API n’y voit rien (seuls les rôles qui contournent la RLS y accèdent). Normal pour une table interne, surprenant pour une table métier.`,
          detail_en: `${qn} has RLS enabled and no policy: the API sees nothing (only RLS-bypassing roles get in). Fine for an internal table, surprising for a business table.`,
          fix: `Si la table doit être lue par l’application : CREATE POLICY … ON ${ref} FOR SELECT TO authenticated USING (…); sinon REVOKE ALL ON ${ref} FROM anon, authenticated;`,
          fix_en: `If the app must read it: CREATE POLICY … ON ${ref} FOR SELECT TO authenticated USING (…); otherwise REVOKE ALL ON ${ref} FROM anon, authenticated;`,
        }),
      );
    }
    if (r.kind === 'm' && exposedRoles.length > 0) {
      out.push(
        makeFinding('MATVIEW_EXPOSED', qn, {
          detail: `La vue matérialisée ${qn} est lisible par ${exposedRoles.join(', ')} ; une vue matérialisée n’applique pas la RLS de ses tables sources.`,
          detail_en: `Materialized view ${qn} is readable by ${exposedRoles.join(', ')}; a materialized view does not apply its source tables' RLS.`,
          fix: `REVOKE SELECT ON ${ref} FROM anon, authenticated; ou la déplacer hors des schémas exposés.`,
          fix_en: `REVOKE SELECT ON ${ref} FROM anon, authenticated; or move it out of the exposed schemas.`,
        }),
      );
    }
    if (r.kind === 'f' && exposedRoles.length > 0) {
      out.push(
        makeFinding('FOREIGN_TABLE_EXPOSED', qn, {
          detail: `La table étrangère ${qn} est accessible à ${exposedRoles.join(', ')} ; la RLS ne s’applique pas aux tables étrangères.`,
          detail_en: `Foreign table ${qn} is reachable by ${exposedRoles.join(', ')}; RLS does not apply to foreign tables.`,
          fix: `REVOKE ALL ON ${ref} FROM anon, authenticated; ou la déplacer hors des schémas exposés.`,
          fix_en: `REVOKE ALL ON ${ref} FROM anon, authenticated; or move it out of the exposed schemas.`,
        }),
      );
    }
  }
  return out;
}

export function checkViews(snap: CatalogSnapshot, exposedSchemas: string[]): Finding[] {
  const out: Finding[] = [];
  for (const v of snap.relations) {
    if (v.kind !== 'v' || !exposedSchemas.includes(v.schema)) continue;
    const readers = (['anon', 'authenticated'] as const).filter((role) => {
      const p = v.privileges[role];
      return !!p && p.schema_usage && p.select;
    });
    if (readers.length === 0) continue;
    const qn = `${v.schema}.${v.name}`;
    const ref = quoteQualified(v.schema, v.name);
    const deps = snap.view_dependencies.filter((d) => d.view_oid === v.oid);
    const authUsers = deps.some((d) => d.schema === 'auth' && d.name === 'users');
    if (authUsers) {
      out.push(
        makeFinding('VIEW_EXPOSES_AUTH_USERS', qn, {
          severity: readers.includes('anon') || !v.security_invoker ? 'ERROR' : 'WARN',
          detail: `La vue ${qn} lit auth.users et est lisible par ${readers.join(', ')} : e-mails et métadonnées des comptes exposés.`,
          detail_en: `View ${qn} reads auth.users and is readable by ${readers.join(', ')}: account e-mails and metadata are exposed.`,
          fix: `REVOKE SELECT ON ${ref} FROM anon, authenticated; exposer plutôt public.profils sous RLS.`,
          fix_en: `REVOKE SELECT ON ${ref} FROM anon, authenticated; expose public.profils under RLS instead.`,
        }),
      );
    }
    if (v.security_invoker) continue;
    const bypassed = deps.filter((d) => d.rls && (v.owner_bypasses_rls || (d.owner === v.owner && !d.force_rls)));
    if (bypassed.length === 0) continue;
    const tables = bypassed.map((d) => `${d.schema}.${d.name}`).sort();
    const anon = readers.includes('anon');
    out.push(
      makeFinding('VIEW_SECURITY_DEFINER', qn, {
        severity: anon ? 'ERROR' : 'WARN',
        detail: `La vue ${qn} s’exécute avec les droits de son propriétaire (${v.owner}) et contourne la RLS de ${tables.join(', ')} ; elle est lisible par ${readers.join(', ')}${anon ? ' — donc sans connexion' : ' — le cloisonnement par dépôt ne s’applique pas'}.`,
        detail_en: `View ${qn} runs with its owner's rights (${v.owner}) and bypasses the RLS of ${tables.join(', ')}; it is readable by ${readers.join(', ')}${anon ? ' — so without signing in' : ' — depot scoping does not apply'}.`,
        fix: `ALTER VIEW ${ref} SET (security_invoker = true);${anon ? ` REVOKE SELECT ON ${ref} FROM anon;` : ''}`,
        fix_en: `ALTER VIEW ${ref} SET (security_invoker = true);${anon ? ` REVOKE SELECT ON ${ref} FROM anon;` : ''}`,
        meta: { readers, bypassed_tables: tables, owner: v.owner },
      }),
    );
  }
  return out;
}

/** Splits a proconfig search_path value into schema names. */
export function searchPathSchemas(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '""' && s !== "''")
    .map((s) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s));
}

export async function checkFunctions(snap: CatalogSnapshot, exposedSchemas: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  const writable = new Set(
    snap.schemas.filter((s) => s.create.anon === true || s.create.authenticated === true).map((s) => s.name),
  );
  for (const f of snap.functions) {
    const obj = functionObject(f);
    const ref = functionRef(f);
    if (f.search_path === null) {
      out.push(
        makeFinding(f.secdef ? 'FUNCTION_SECDEF_SEARCH_PATH' : 'FUNCTION_SEARCH_PATH_MUTABLE', obj, {
          detail: f.secdef
            ? `${obj} est SECURITY DEFINER sans search_path fixé : l’appelant choisit le search_path et peut faire résoudre un nom non qualifié vers son propre objet, exécuté avec les droits du propriétaire.`
            : `${obj} n’a pas de search_path fixé : la résolution des noms dépend de la session appelante.`,
          detail_en: f.secdef
            ? `${obj} is SECURITY DEFINER without a fixed search_path: the caller controls search_path and can make an unqualified name resolve to their own object, run with the owner's rights.`
            : `${obj} has no fixed search_path: name resolution depends on the calling session.`,
          fix: `ALTER FUNCTION ${ref} SET search_path = ''; (et qualifier les noms : public.profils, auth.uid())`,
          fix_en: `ALTER FUNCTION ${ref} SET search_path = ''; (and schema-qualify names: public.profils, auth.uid())`,
        }),
      );
    } else {
      const risky = searchPathSchemas(f.search_path).filter((s) => writable.has(s));
      if (risky.length > 0) {
        out.push(
          makeFinding('FUNCTION_SEARCH_PATH_WRITABLE', obj, {
            severity: f.secdef ? 'WARN' : 'INFO',
            detail: `search_path de ${obj} = ${f.search_path} ; anon ou authenticated peuvent créer des objets dans ${risky.join(', ')}.`,
            detail_en: `${obj} search_path = ${f.search_path}; anon or authenticated can create objects in ${risky.join(', ')}.`,
            fix: `REVOKE CREATE ON SCHEMA ${risky.map(quoteIdent).join(', ')} FROM PUBLIC, anon, authenticated; ou ALTER FUNCTION ${ref} SET search_path = '';`,
            fix_en: `REVOKE CREATE ON SCHEMA ${risky.map(quoteIdent).join(', ')} FROM PUBLIC, anon, authenticated; or ALTER FUNCTION ${ref} SET search_path = '';`,
          }),
        );
      }
    }
    const apiCallable = exposedSchemas.includes(f.schema);
    // A trigger function cannot be called directly (not through /rpc either): its EXECUTE grant is moot.
    const callable = f.secdef && !f.returns_trigger;
    if (callable && f.execute.anon === true) {
      out.push(
        makeFinding('FUNCTION_SECDEF_ANON_EXECUTE', obj, {
          detail: `${obj} est SECURITY DEFINER (contourne la RLS) et exécutable par anon${apiCallable ? ` : appelable sans connexion via /rest/v1/rpc/${f.name}` : ''}.`,
          detail_en: `${obj} is SECURITY DEFINER (bypasses RLS) and executable by anon${apiCallable ? `: callable without signing in via /rest/v1/rpc/${f.name}` : ''}.`,
          fix: `REVOKE EXECUTE ON FUNCTION ${ref} FROM PUBLIC, anon; GRANT EXECUTE ON FUNCTION ${ref} TO authenticated;`,
          fix_en: `REVOKE EXECUTE ON FUNCTION ${ref} FROM PUBLIC, anon; GRANT EXECUTE ON FUNCTION ${ref} TO authenticated;`,
        }),
      );
    } else if (callable && f.execute.authenticated === true) {
      out.push(
        makeFinding('FUNCTION_SECDEF_AUTHENTICATED_EXECUTE', obj, {
          detail: `${obj} est SECURITY DEFINER et exécutable par authenticated. Attendu pour les fonctions d’aide des politiques (app_*) ; à vérifier pour toute fonction qui écrit.`,
          detail_en: `${obj} is SECURITY DEFINER and executable by authenticated. Expected for policy helpers (app_*); review any function that writes.`,
          fix: `Vérifier que la fonction contrôle elle-même le rôle de l’appelant ; sinon REVOKE EXECUTE ON FUNCTION ${ref} FROM PUBLIC, authenticated;`,
          fix_en: `Check that the function itself verifies the caller's role; otherwise REVOKE EXECUTE ON FUNCTION ${ref} FROM PUBLIC, authenticated;`,
        }),
      );
    }
    if (f.sql_body !== null) {
      let hits: string[] = [];
      try {
        const stmts = await parseSql(f.sql_body);
        hits = stmts.flatMap((s) => findProfilsIdUidComparisons(s.stmt, '(function)'));
      } catch {
        hits = [];
      }
      if (hits.length > 0) {
        out.push(
          makeFinding('FUNCTION_PROFILS_ID_UID', obj, {
            detail: `Le corps SQL de ${obj} compare profils.id à auth.uid() ; l’utilisateur est profils.user_id. Toute politique qui appelle cette fonction hérite du bogue.`,
            detail_en: `The SQL body of ${obj} compares profils.id with auth.uid(); the user is profils.user_id. Every policy calling this function inherits the bug.`,
            fix: `Recréer la fonction avec « where p.user_id = auth.uid() ».`,
            fix_en: `Recreate the function with "where p.user_id = auth.uid()".`,
          }),
        );
      }
    }
  }
  return out;
}

export function checkSchemas(snap: CatalogSnapshot, exposedSchemas: string[]): Finding[] {
  const out: Finding[] = [];
  for (const s of snap.schemas) {
    const creators = (['anon', 'authenticated'] as const).filter((r) => s.create[r] === true);
    const obj = `schema ${s.name}`;
    if (creators.length > 0) {
      out.push(
        makeFinding('SCHEMA_CREATE_GRANTED', obj, {
          detail: `${creators.join(' et ')} peuvent créer des objets dans le schéma ${s.name} (détournement de search_path, objets piégés).`,
          detail_en: `${creators.join(' and ')} can create objects in schema ${s.name} (search_path hijacking, booby-trapped objects).`,
          fix: `REVOKE CREATE ON SCHEMA ${quoteIdent(s.name)} FROM PUBLIC, anon, authenticated;`,
          fix_en: `REVOKE CREATE ON SCHEMA ${quoteIdent(s.name)} FROM PUBLIC, anon, authenticated;`,
        }),
      );
    }
    if (exposedSchemas.includes(s.name)) {
      if (s.anon_relations > 0) {
        const names = snap.relations
          .filter((r) => r.schema === s.name && exposedTo(r, 'anon') && (r.kind === 'v' || r.rls))
          .map((r) => r.name);
        if (names.length > 0) {
          out.push(
            makeFinding('ANON_TABLE_GRANTS', obj, {
              detail: `anon détient des privilèges (GRANT par défaut de Supabase) sur ${names.length} relation(s) de ${s.name} protégées seulement par la RLS : ${names.slice(0, 12).join(', ')}${names.length > 12 ? '…' : ''}. Une seule politique {public} suffit à les ouvrir.`,
              detail_en: `anon holds privileges (Supabase's default GRANT) on ${names.length} relation(s) of ${s.name} guarded only by RLS: ${names.slice(0, 12).join(', ')}${names.length > 12 ? '…' : ''}. A single {public} policy opens them.`,
              fix: `Défense en profondeur : REVOKE ALL ON ALL TABLES IN SCHEMA ${quoteIdent(s.name)} FROM anon; ALTER DEFAULT PRIVILEGES IN SCHEMA ${quoteIdent(s.name)} REVOKE ALL ON TABLES FROM anon;`,
              fix_en: `Defense in depth: REVOKE ALL ON ALL TABLES IN SCHEMA ${quoteIdent(s.name)} FROM anon; ALTER DEFAULT PRIVILEGES IN SCHEMA ${quoteIdent(s.name)} REVOKE ALL ON TABLES FROM anon;`,
              meta: { relations: names },
            }),
          );
        }
      }
      continue;
    }
    if (s.usage.anon === true) {
      out.push(
        makeFinding('ANON_SCHEMA_USAGE', obj, {
          detail: `anon a USAGE sur le schéma ${s.name} (non listé comme exposé), avec des droits sur ${s.anon_relations} relation(s) et EXECUTE sur ${s.anon_functions} fonction(s). Si le schéma est ajouté à l’API, tout devient lisible sans connexion.`,
          detail_en: `anon has USAGE on schema ${s.name} (not listed as exposed), with privileges on ${s.anon_relations} relation(s) and EXECUTE on ${s.anon_functions} function(s). If the schema is added to the API, all of it becomes readable without signing in.`,
          fix: `Si l’accès anonyme n’est pas voulu : REVOKE ALL ON ALL TABLES IN SCHEMA ${quoteIdent(s.name)} FROM anon; REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ${quoteIdent(s.name)} FROM anon; REVOKE USAGE ON SCHEMA ${quoteIdent(s.name)} FROM anon;`,
          fix_en: `If anonymous access is not intended: REVOKE ALL ON ALL TABLES IN SCHEMA ${quoteIdent(s.name)} FROM anon; REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ${quoteIdent(s.name)} FROM anon; REVOKE USAGE ON SCHEMA ${quoteIdent(s.name)} FROM anon;`,
          meta: { relations: s.anon_relations, functions: s.anon_functions },
        }),
      );
    }
  }
  return out;
}

export function checkRoles(snap: CatalogSnapshot): Finding[] {
  return (['anon', 'authenticated'] as const)
    .filter((r) => !snap.roles[r])
    .map((r) =>
      makeFinding('API_ROLE_MISSING', `role ${r}`, {
        detail: `Le rôle ${r} n’existe pas : base hors Supabase ? Les contrôles d’exposition et la sonde pour ce rôle sont sautés.`,
        detail_en: `Role ${r} does not exist: not a Supabase database? Exposure checks and the probe for this role are skipped.`,
        fix: `Auditer la base Supabase réelle (ou une base de référence qui crée anon, authenticated et service_role).`,
        fix_en: `Audit the real Supabase database (or a reference database that creates anon, authenticated and service_role).`,
      }),
    );
}

/** Number of policies whose roles include public. */
export function countPublicPolicies(snap: CatalogSnapshot): number {
  return snap.policies.filter((p) => p.roles.includes('public')).length;
}
