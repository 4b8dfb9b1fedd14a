/**
 * `lintMigrations`: static guard for SQL migrations, on PostgreSQL's own
 * parser (libpg-query). Enforces the "0 public policy" standard and protects
 * ML_PP's contracts (tables, views, columns, policies) from destructive
 * changes unless a statement is annotated:
 *
 *   -- vigie:allow-destructive reason: <why, at least 10 characters>
 *
 * The annotation must sit in the comments right before the statement (after
 * the previous statement's semicolon).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findProfilsIdUidComparisons, isAlwaysTrue } from './policy-expr.js';
import { type Comment, type Node, parseSql, type RawStmt, SourceText, SqlParseError, stringList } from './sql-ast.js';
import type { Lang, LintIssue, LintOptions, LintResult, Severity } from './types.js';

/** ML_PP's tables and views (DOMAIN §2, plus v_integrity_checks): the customer's contract. */
export const DEFAULT_PROTECTED_RELATIONS: readonly string[] = [
  // tables
  'citernes', 'cours_de_route', 'receptions', 'sorties_produit', 'stocks_snapshot', 'stocks_journaliers',
  'stocks_adjustments', 'log_actions', 'profils', 'prises_de_hauteur', 'system_alerts', 'depots', 'clients',
  'fournisseurs', 'partenaires', 'produits', 'fournisseur_lot', 'fournisseur_facture_lot_min',
  'fournisseur_paiement_lot_min',
  // views
  'logs', 'v_stock_actuel', 'v_stocks_snapshot_corrige', 'v_mouvements_stock', 'stock_actuel',
  'v_citerne_stock_actuel', 'v_stock_actuel_owner_snapshot', 'v_stock_actuel_snapshot',
  'v_citerne_stock_snapshot_agg', 'v_kpi_stock_global', 'v_integrity_checks',
];

export const ANNOTATION = 'vigie:allow-destructive';
const MIN_REASON = 10;

/** The rules of lintMigrations, with their severity. */
export const LINT_RULES = {
  PARSE_ERROR: 'ERROR',
  POLICY_WITHOUT_TO: 'ERROR',
  POLICY_TO_PUBLIC: 'ERROR',
  POLICY_TO_ANON: 'WARN',
  POLICY_ALWAYS_TRUE_WRITE: 'WARN',
  POLICY_PROFILS_ID_UID: 'WARN',
  RLS_DISABLED: 'ERROR',
  RLS_NO_FORCE: 'WARN',
  TABLE_WITHOUT_RLS: 'ERROR',
  GRANT_TO_ANON: 'ERROR',
  DESTRUCTIVE_CHANGE: 'ERROR',
  DESTRUCTIVE_CHANGE_ALLOWED: 'INFO',
  ANNOTATION_WITHOUT_REASON: 'ERROR',
  ANNOTATION_UNUSED: 'WARN',
  SECDEF_WITHOUT_SEARCH_PATH: 'WARN',
  DO_BLOCK_NOT_ANALYSED: 'INFO',
} as const satisfies Record<string, Severity>;

export type LintRule = keyof typeof LINT_RULES;

interface Annotation {
  offset: number;
  reason: string | null;
}

function findAnnotation(comments: Comment[]): Annotation | undefined {
  for (const c of comments) {
    const at = c.text.indexOf(ANNOTATION);
    if (at < 0) continue;
    const rest = c.text.slice(at + ANNOTATION.length).replace(/\s+/g, ' ').trim();
    const m = /^reason\s*:\s*(.*)$/i.exec(rest);
    const reason = m?.[1]?.trim() ?? '';
    return { offset: c.offset, reason: reason.length >= MIN_REASON ? reason : null };
  }
  return undefined;
}

interface Ctx {
  protectedSet: Set<string>;
  businessSchemas: string[];
  /** Relations created earlier in this run: not "existing" contracts. */
  created: Set<string>;
  /** Tables whose RLS is enabled somewhere in the run. */
  rlsEnabled: Set<string>;
}

function qn(rv: { schemaname?: string; relname?: string } | undefined): string {
  return `${rv?.schemaname ?? 'public'}.${rv?.relname ?? '?'}`;
}

function qnFromList(names: string[]): string {
  if (names.length >= 2) return `${names[names.length - 2]}.${names[names.length - 1]}`;
  return `public.${names[0] ?? '?'}`;
}

function isProtected(ctx: Ctx, name: string): boolean {
  return ctx.protectedSet.has(name) && !ctx.created.has(name);
}

interface Hit {
  rule: LintRule;
  fr: string;
  en: string;
  severity?: Severity;
  /** Short description of a destructive change (for DESTRUCTIVE_CHANGE_ALLOWED). */
  what?: string;
}

const ALLOWED_ALTER_ON_PROTECTED = new Set([
  'AT_AddColumn', 'AT_EnableRowSecurity', 'AT_ForceRowSecurity', 'AT_EnableTrig', 'AT_EnableAlwaysTrig',
  'AT_EnableReplicaTrig', 'AT_EnableTrigAll', 'AT_EnableTrigUser', 'AT_SetStatistics',
]);

function alterLabel(sub: string, name: string | undefined): string {
  const col = name ?? '?';
  switch (sub) {
    case 'AT_DropColumn':
      return `DROP COLUMN ${col}`;
    case 'AT_AlterColumnType':
      return `ALTER COLUMN ${col} TYPE`;
    case 'AT_ColumnDefault':
      return `ALTER COLUMN ${col} SET/DROP DEFAULT`;
    case 'AT_DropNotNull':
      return `ALTER COLUMN ${col} DROP NOT NULL`;
    case 'AT_SetNotNull':
      return `ALTER COLUMN ${col} SET NOT NULL`;
    case 'AT_AddConstraint':
      return 'ADD CONSTRAINT';
    case 'AT_DropConstraint':
      return `DROP CONSTRAINT ${col}`;
    case 'AT_DisableTrig':
      return `DISABLE TRIGGER ${col}`;
    case 'AT_DisableTrigAll':
      return 'DISABLE TRIGGER ALL';
    case 'AT_DisableTrigUser':
      return 'DISABLE TRIGGER USER';
    case 'AT_ChangeOwner':
      return 'OWNER TO';
    case 'AT_SetRelOptions':
      return 'SET (…)';
    case 'AT_ResetRelOptions':
      return 'RESET (…)';
    default:
      return `${sub.replace(/^AT_/, '')}${name ? ` ${name}` : ''}`;
  }
}

function columnAddsNotNullWithoutDefault(def: Node | undefined): boolean {
  if (!def || !('ColumnDef' in def)) return false;
  const cons = (def.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint.contype] : []));
  const notNull = def.ColumnDef.is_not_null === true || cons.includes('CONSTR_NOTNULL') || cons.includes('CONSTR_PRIMARY');
  const hasDefault = cons.includes('CONSTR_DEFAULT') || cons.includes('CONSTR_IDENTITY') || cons.includes('CONSTR_GENERATED');
  return notNull && !hasDefault;
}

function roleNames(roles: Node[] | undefined): { implicitPublic: boolean; explicitPublic: boolean; names: string[] } {
  let implicitPublic = false;
  let explicitPublic = false;
  const names: string[] = [];
  for (const r of roles ?? []) {
    if (!('RoleSpec' in r)) continue;
    const spec = r.RoleSpec;
    if (spec.roletype === 'ROLESPEC_PUBLIC') {
      if ((spec.location ?? -1) < 0) implicitPublic = true;
      else explicitPublic = true;
      names.push('public');
    } else if (spec.rolename) names.push(spec.rolename);
    else if (spec.roletype) names.push(spec.roletype.replace('ROLESPEC_', '').toLowerCase());
  }
  return { implicitPublic, explicitPublic, names };
}

function destructive(what: string, target: string): Hit {
  return {
    rule: 'DESTRUCTIVE_CHANGE',
    what: `${what} sur ${target}`,
    fr: `${what} sur ${target}, contrat existant de ML_PP. Changement destructif refusé sans annotation « -- ${ANNOTATION} reason: <raison> » juste avant l’instruction.`,
    en: `${what} on ${target}, an existing ML_PP contract. Destructive change refused without a "-- ${ANNOTATION} reason: <reason>" annotation right before the statement.`,
  };
}

async function checkStatement(stmt: Node, ctx: Ctx): Promise<Hit[]> {
  const hits: Hit[] = [];
  if ('CreatePolicyStmt' in stmt) {
    const p = stmt.CreatePolicyStmt;
    const table = qn(p.table);
    const roles = roleNames(p.roles);
    const name = p.policy_name ?? '?';
    if (roles.implicitPublic) {
      hits.push({
        rule: 'POLICY_WITHOUT_TO',
        fr: `CREATE POLICY « ${name} » sur ${table} sans clause TO : la politique s’applique à public, donc à anon. Ajouter « TO authenticated ».`,
        en: `CREATE POLICY "${name}" on ${table} without a TO clause: it applies to public, hence anon. Add "TO authenticated".`,
      });
    } else if (roles.explicitPublic) {
      hits.push({
        rule: 'POLICY_TO_PUBLIC',
        fr: `CREATE POLICY « ${name} » sur ${table} TO public : interdit par le standard « 0 politique public ». Utiliser « TO authenticated ».`,
        en: `CREATE POLICY "${name}" on ${table} TO public: forbidden by the "0 public policy" standard. Use "TO authenticated".`,
      });
    }
    if (roles.names.includes('anon')) {
      hits.push({
        rule: 'POLICY_TO_ANON',
        fr: `CREATE POLICY « ${name} » sur ${table} TO anon : accès sans connexion ; à justifier.`,
        en: `CREATE POLICY "${name}" on ${table} TO anon: access without signing in; must be justified.`,
      });
    }
    const cmd = (p.cmd_name ?? 'all').toLowerCase();
    const writes = cmd !== 'select';
    if (
      writes &&
      p.permissive !== false &&
      roles.names.includes('authenticated') &&
      ((cmd !== 'insert' && isAlwaysTrue(p.qual)) || isAlwaysTrue(p.with_check))
    ) {
      hits.push({
        rule: 'POLICY_ALWAYS_TRUE_WRITE',
        fr: `CREATE POLICY « ${name} » (${cmd.toUpperCase()}) sur ${table} est toujours vraie : tout utilisateur connecté, même sans profil, écrit. Restreindre au rôle métier.`,
        en: `CREATE POLICY "${name}" (${cmd.toUpperCase()}) on ${table} is always true: any signed-in user, even without a profile, writes. Scope it to the business role.`,
      });
    }
    const relname = p.table?.relname ?? '';
    if (findProfilsIdUidComparisons(p.qual, relname).length + findProfilsIdUidComparisons(p.with_check, relname).length > 0) {
      hits.push({
        rule: 'POLICY_PROFILS_ID_UID',
        fr: `CREATE POLICY « ${name} » sur ${table} compare profils.id à auth.uid() ; l’utilisateur est profils.user_id.`,
        en: `CREATE POLICY "${name}" on ${table} compares profils.id with auth.uid(); the user is profils.user_id.`,
      });
    }
    return hits;
  }
  if ('AlterPolicyStmt' in stmt) {
    const p = stmt.AlterPolicyStmt;
    const table = qn(p.table);
    const roles = roleNames(p.roles);
    if (roles.explicitPublic) {
      hits.push({
        rule: 'POLICY_TO_PUBLIC',
        fr: `ALTER POLICY « ${p.policy_name ?? '?'} » sur ${table} TO public : interdit par le standard « 0 politique public ».`,
        en: `ALTER POLICY "${p.policy_name ?? '?'}" on ${table} TO public: forbidden by the "0 public policy" standard.`,
      });
    }
    if (isProtected(ctx, table)) hits.push(destructive(`ALTER POLICY « ${p.policy_name ?? '?'} »`, table));
    return hits;
  }
  if ('AlterTableStmt' in stmt) {
    const a = stmt.AlterTableStmt;
    const table = qn(a.relation);
    const prot = isProtected(ctx, table);
    for (const c of a.cmds ?? []) {
      if (!('AlterTableCmd' in c)) continue;
      const sub = c.AlterTableCmd.subtype ?? '';
      if (sub === 'AT_EnableRowSecurity' || sub === 'AT_ForceRowSecurity') ctx.rlsEnabled.add(table);
      if (sub === 'AT_DisableRowSecurity') {
        hits.push({
          rule: 'RLS_DISABLED',
          fr: `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY : toutes les lignes deviennent accessibles selon les seuls GRANT (anon compris).`,
          en: `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY: every row becomes reachable under table grants alone (anon included).`,
        });
        continue;
      }
      if (sub === 'AT_NoForceRowSecurity') {
        hits.push({
          rule: 'RLS_NO_FORCE',
          fr: `ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY : le propriétaire de la table contourne à nouveau la RLS.`,
          en: `ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY: the table owner bypasses RLS again.`,
        });
        continue;
      }
      if (!prot) continue;
      if (sub === 'AT_AddColumn') {
        if (columnAddsNotNullWithoutDefault(c.AlterTableCmd.def)) {
          hits.push(destructive('ADD COLUMN … NOT NULL sans DEFAULT (casse les INSERT de l’application)', table));
        }
        continue;
      }
      if (ALLOWED_ALTER_ON_PROTECTED.has(sub)) continue;
      const label = alterLabel(sub, c.AlterTableCmd.name);
      hits.push(destructive(`ALTER ${a.objtype === 'OBJECT_VIEW' ? 'VIEW' : 'TABLE'} … ${label}`, table));
    }
    return hits;
  }
  if ('RenameStmt' in stmt) {
    const r = stmt.RenameStmt;
    let target: string | undefined;
    if (r.relation) target = qn(r.relation);
    else if (r.object && 'List' in r.object) target = qnFromList(stringList(r.object.List.items));
    if (target && isProtected(ctx, target)) {
      const what = (r.renameType ?? 'OBJECT').replace('OBJECT_', '');
      hits.push(destructive(`RENAME ${what}${r.subname ? ` ${r.subname}` : ''} → ${r.newname ?? '?'}`, target));
    }
    return hits;
  }
  if ('AlterObjectSchemaStmt' in stmt) {
    const r = stmt.AlterObjectSchemaStmt;
    if (r.relation && isProtected(ctx, qn(r.relation))) hits.push(destructive(`SET SCHEMA ${r.newschema ?? '?'}`, qn(r.relation)));
    return hits;
  }
  if ('DropStmt' in stmt) {
    const d = stmt.DropStmt;
    const type = d.removeType ?? '';
    for (const o of d.objects ?? []) {
      const names = 'List' in o ? stringList(o.List.items) : 'String' in o ? [o.String.sval ?? ''] : [];
      if (names.length === 0) continue;
      if (type === 'OBJECT_TABLE' || type === 'OBJECT_VIEW' || type === 'OBJECT_MATVIEW' || type === 'OBJECT_FOREIGN_TABLE') {
        const target = qnFromList(names);
        if (isProtected(ctx, target)) hits.push(destructive(`DROP ${type.replace('OBJECT_', '')}`, target));
      } else if (type === 'OBJECT_POLICY' || type === 'OBJECT_TRIGGER' || type === 'OBJECT_RULE') {
        const target = qnFromList(names.slice(0, -1));
        if (isProtected(ctx, target)) {
          hits.push(destructive(`DROP ${type.replace('OBJECT_', '')} « ${names[names.length - 1] ?? '?'} »`, target));
        }
      }
    }
    return hits;
  }
  if ('TruncateStmt' in stmt) {
    for (const r of stmt.TruncateStmt.relations ?? []) {
      if ('RangeVar' in r && isProtected(ctx, qn(r.RangeVar))) hits.push(destructive('TRUNCATE', qn(r.RangeVar)));
    }
    return hits;
  }
  if ('ViewStmt' in stmt) {
    const v = stmt.ViewStmt;
    const target = qn(v.view);
    if (v.replace === true && isProtected(ctx, target)) hits.push(destructive('CREATE OR REPLACE VIEW', target));
    else ctx.created.add(target);
    return hits;
  }
  if ('GrantStmt' in stmt) {
    hits.push(...checkGrant(stmt.GrantStmt, ctx, ''));
    return hits;
  }
  if ('AlterDefaultPrivilegesStmt' in stmt) {
    const a = stmt.AlterDefaultPrivilegesStmt;
    const schemas = (a.options ?? []).flatMap((o) =>
      'DefElem' in o && o.DefElem.defname === 'schemas' && o.DefElem.arg && 'List' in o.DefElem.arg
        ? stringList(o.DefElem.arg.List.items)
        : [],
    );
    if (a.action) hits.push(...checkGrant(a.action, ctx, 'ALTER DEFAULT PRIVILEGES ', schemas.length > 0 ? schemas : undefined));
    return hits;
  }
  if ('CreateFunctionStmt' in stmt) {
    const f = stmt.CreateFunctionStmt;
    let secdef = false;
    let searchPath = false;
    for (const o of f.options ?? []) {
      if (!('DefElem' in o)) continue;
      const arg = o.DefElem.arg;
      if (o.DefElem.defname === 'security' && arg && 'Boolean' in arg && arg.Boolean.boolval === true) secdef = true;
      if (o.DefElem.defname === 'set' && arg && 'VariableSetStmt' in arg && arg.VariableSetStmt.name === 'search_path') {
        searchPath = true;
      }
    }
    if (secdef && !searchPath) {
      const name = stringList(f.funcname).join('.');
      hits.push({
        rule: 'SECDEF_WITHOUT_SEARCH_PATH',
        fr: `CREATE FUNCTION ${name} SECURITY DEFINER sans « SET search_path » : ajouter « SET search_path = '' » et qualifier les noms.`,
        en: `CREATE FUNCTION ${name} SECURITY DEFINER without "SET search_path": add "SET search_path = ''" and schema-qualify names.`,
      });
    }
    return hits;
  }
  if ('DoStmt' in stmt) {
    hits.push({
      rule: 'DO_BLOCK_NOT_ANALYSED',
      fr: 'Bloc DO : le SQL dynamique ou PL/pgSQL qu’il contient n’est pas analysé ; relire à la main (politiques, GRANT, DROP).',
      en: 'DO block: the PL/pgSQL or dynamic SQL inside is not analysed; review it by hand (policies, GRANTs, DROPs).',
    });
    return hits;
  }
  return hits;
}

function checkGrant(
  g: { is_grant?: boolean; targtype?: string; objtype?: string; objects?: Node[]; grantees?: Node[] },
  ctx: Ctx,
  prefix: string,
  defaultSchemas?: string[],
): Hit[] {
  if (g.is_grant !== true) return [];
  const roles = roleNames(g.grantees);
  const who = roles.names.filter((n) => n === 'anon' || n === 'public');
  if (who.length === 0) return [];
  const grantee = who.join(', ');
  const objtype = (g.objtype ?? '').replace('OBJECT_', '');
  let business: string[] = [];
  let other: string[] = [];
  if (g.targtype === 'ACL_TARGET_DEFAULTS' || prefix !== '') {
    const schemas = defaultSchemas ?? ['(tous les schémas)'];
    if (objtype === 'TABLE') {
      business = schemas.filter((s) => defaultSchemas === undefined || ctx.businessSchemas.includes(s));
      other = schemas.filter((s) => !business.includes(s));
    } else other = schemas;
  } else if (g.targtype === 'ACL_TARGET_ALL_IN_SCHEMA') {
    const schemas = (g.objects ?? []).flatMap((o) => ('String' in o ? [o.String.sval ?? ''] : []));
    if (objtype === 'TABLE') {
      business = schemas.filter((s) => ctx.businessSchemas.includes(s)).map((s) => `ALL TABLES IN SCHEMA ${s}`);
      other = schemas.filter((s) => !ctx.businessSchemas.includes(s)).map((s) => `ALL TABLES IN SCHEMA ${s}`);
    } else other = schemas.map((s) => `ALL ${objtype}S IN SCHEMA ${s}`);
  } else {
    for (const o of g.objects ?? []) {
      if ('RangeVar' in o) {
        const name = qn(o.RangeVar);
        if (ctx.businessSchemas.includes(o.RangeVar.schemaname ?? 'public') || ctx.protectedSet.has(name)) business.push(name);
        else other.push(name);
      } else {
        let names: string[] = [];
        if ('String' in o) names = [o.String.sval ?? ''];
        else if ('List' in o) names = stringList(o.List.items);
        else if ('ObjectWithArgs' in o) names = stringList(o.ObjectWithArgs.objname);
        // USAGE on a business schema is Supabase's platform default (PostgREST needs it): not a data grant.
        if (objtype === 'SCHEMA' && names.length === 1 && ctx.businessSchemas.includes(names[0] ?? '')) continue;
        other.push(`${objtype} ${names.join('.') || '…'}`.trim());
      }
    }
  }
  const hits: Hit[] = [];
  if (business.length > 0) {
    hits.push({
      rule: 'GRANT_TO_ANON',
      fr: `${prefix}GRANT à ${grantee} sur des tables métier (${business.join(', ')}) : interdit ; seul authenticated, sous RLS, accède aux données.`,
      en: `${prefix}GRANT to ${grantee} on business tables (${business.join(', ')}): forbidden; only authenticated, under RLS, reaches data.`,
    });
  }
  if (other.length > 0) {
    hits.push({
      rule: 'GRANT_TO_ANON',
      severity: 'WARN',
      fr: `${prefix}GRANT à ${grantee} sur ${other.join(', ')} : accès sans connexion ; à justifier (ex. grille ASTM publique).`,
      en: `${prefix}GRANT to ${grantee} on ${other.join(', ')}: access without signing in; must be justified (e.g. a public ASTM grid).`,
    });
  }
  return hits;
}

interface ParsedStatement {
  file: string;
  src: SourceText;
  node: Node;
  /** byte offset of the first token */
  start: number;
  comments: Comment[];
}

/**
 * Lints SQL migration files (in the order given: it matters for "created
 * earlier in this run"). Never touches a database.
 */
export async function lintMigrations(files: Array<{ path: string; sql: string }>, opts: LintOptions = {}): Promise<LintResult> {
  const protectedSet = new Set(
    (opts.protectedRelations ?? DEFAULT_PROTECTED_RELATIONS).map((n) => (n.includes('.') ? n : `public.${n}`)),
  );
  const ctx: Ctx = {
    protectedSet,
    businessSchemas: opts.businessSchemas ?? ['public'],
    created: new Set(),
    rlsEnabled: new Set(),
  };
  const issues: LintIssue[] = [];
  const push = (file: string, src: SourceText, offset: number, rule: LintRule, fr: string, en: string, severity?: Severity) => {
    const pos = src.position(offset);
    issues.push({ file, line: pos.line, column: pos.column, rule, severity: severity ?? LINT_RULES[rule], message_fr: fr, message_en: en });
  };

  const parsed: ParsedStatement[] = [];
  for (const f of files) {
    const src = new SourceText(f.sql);
    let raws: RawStmt[];
    try {
      raws = await parseSql(f.sql);
    } catch (err: unknown) {
      const pos = err instanceof SqlParseError && err.position !== undefined ? src.positionOfChar(err.position) : { line: 1, column: 1 };
      const msg = err instanceof Error ? err.message : String(err);
      issues.push({
        file: f.path,
        line: pos.line,
        column: pos.column,
        rule: 'PARSE_ERROR',
        severity: 'ERROR',
        message_fr: `SQL invalide pour PostgreSQL : ${msg}`,
        message_en: `Invalid SQL for PostgreSQL: ${msg}`,
      });
      continue;
    }
    let end = 0;
    for (const raw of raws) {
      if (!raw.stmt) continue;
      const loc = raw.stmt_location ?? 0;
      const trivia = src.skipTrivia(loc);
      parsed.push({ file: f.path, src, node: raw.stmt, start: trivia.offset, comments: trivia.comments });
      end = raw.stmt_len ? loc + raw.stmt_len : src.bytes.length;
    }
    // An annotation after the last statement annotates nothing.
    const tail = src.skipTrivia(end);
    const orphan = findAnnotation(tail.comments);
    if (orphan) {
      push(f.path, src, orphan.offset, 'ANNOTATION_UNUSED', `Annotation ${ANNOTATION} sans instruction qui la suive.`, `${ANNOTATION} annotation with no statement after it.`);
    }
  }

  const createdTables: ParsedStatement[] = [];
  for (const st of parsed) {
    if ('CreateStmt' in st.node) {
      if (ctx.businessSchemas.includes(st.node.CreateStmt.relation?.schemaname ?? 'public')) createdTables.push(st);
    }
    const hits = await checkStatement(st.node, ctx);
    if ('CreateStmt' in st.node) ctx.created.add(qn(st.node.CreateStmt.relation));
    const annotation = findAnnotation(st.comments);
    const destructiveHits = hits.filter((h) => h.rule === 'DESTRUCTIVE_CHANGE');
    if (annotation && annotation.reason === null) {
      push(
        st.file,
        st.src,
        annotation.offset,
        'ANNOTATION_WITHOUT_REASON',
        `Annotation ${ANNOTATION} sans raison (attendu : « -- ${ANNOTATION} reason: <au moins ${MIN_REASON} caractères> »).`,
        `${ANNOTATION} annotation without a reason (expected "-- ${ANNOTATION} reason: <at least ${MIN_REASON} characters>").`,
      );
    } else if (annotation && destructiveHits.length === 0) {
      push(
        st.file,
        st.src,
        annotation.offset,
        'ANNOTATION_UNUSED',
        `Annotation ${ANNOTATION} devant une instruction non destructive : à retirer.`,
        `${ANNOTATION} annotation before a non-destructive statement: remove it.`,
      );
    }
    for (const h of hits) {
      if (h.rule === 'DESTRUCTIVE_CHANGE' && annotation && annotation.reason !== null) {
        push(
          st.file,
          st.src,
          st.start,
          'DESTRUCTIVE_CHANGE_ALLOWED',
          `${h.what ?? 'Changement destructif'} — autorisé par annotation : ${annotation.reason}`,
          `${h.what ?? 'Destructive change'} — allowed by annotation: ${annotation.reason}`,
        );
        continue;
      }
      push(st.file, st.src, st.start, h.rule, h.fr, h.en, h.severity);
    }
  }
  for (const st of createdTables) {
    if (!('CreateStmt' in st.node)) continue;
    const name = qn(st.node.CreateStmt.relation);
    if (ctx.rlsEnabled.has(name)) continue;
    push(
      st.file,
      st.src,
      st.start,
      'TABLE_WITHOUT_RLS',
      `CREATE TABLE ${name} dans un schéma exposé sans « ALTER TABLE … ENABLE ROW LEVEL SECURITY » dans les migrations analysées.`,
      `CREATE TABLE ${name} in an exposed schema without "ALTER TABLE … ENABLE ROW LEVEL SECURITY" in the migrations linted.`,
    );
  }

  issues.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || (a.column ?? 0) - (b.column ?? 0) || a.rule.localeCompare(b.rule));
  return {
    format: 'vigie.lint.migrations/1',
    files: files.length,
    statements: parsed.length,
    issues,
    summary: {
      error: issues.filter((i) => i.severity === 'ERROR').length,
      warn: issues.filter((i) => i.severity === 'WARN').length,
      info: issues.filter((i) => i.severity === 'INFO').length,
    },
  };
}

/** One line per issue (`file:line:col SEVERITY RULE message`) and a summary line. */
export function renderLintText(result: LintResult, lang: Lang = 'fr'): string {
  const lines = result.issues.map(
    (i) => `${i.file}:${i.line}${i.column ? `:${i.column}` : ''}  ${i.severity.padEnd(5)}  ${i.rule}  ${lang === 'fr' ? i.message_fr : i.message_en}`,
  );
  const s = result.summary;
  lines.push(
    lang === 'fr'
      ? `${result.files} fichier(s), ${result.statements} instruction(s) : ${s.error} ERROR, ${s.warn} WARN, ${s.info} INFO.`
      : `${result.files} file(s), ${result.statements} statement(s): ${s.error} ERROR, ${s.warn} WARN, ${s.info} INFO.`,
  );
  return `${lines.join('\n')}\n`;
}

/** 1 when the lint found at least one ERROR, else 0. */
export function lintExitCode(result: LintResult): 0 | 1 {
  return result.summary.error > 0 ? 1 : 0;
}

/**
 * Reads migration files for lintMigrations: each path is a `.sql` file or a
 * directory (its `*.sql` files, sorted by name, not recursive). Order is kept.
 */
export async function readMigrationFiles(paths: string[]): Promise<Array<{ path: string; sql: string }>> {
  const out: Array<{ path: string; sql: string }> = [];
  for (const p of paths) {
    if ((await stat(p)).isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.sql')).sort();
      for (const n of names) out.push({ path: join(p, n), sql: await readFile(join(p, n), 'utf8') });
    } else out.push({ path: p, sql: await readFile(p, 'utf8') });
  }
  return out;
}
