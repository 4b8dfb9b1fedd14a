/**
 * Analysis of RLS policy expressions on the parser's AST rather than on their
 * text: `pg_get_expr()` output (or a migration's USING / WITH CHECK clause) is
 * parsed by libpg-query, then inspected structurally.
 */
import type { Node } from './sql-ast.js';
import { parseSql, stringList } from './sql-ast.js';

/** Parses a boolean SQL expression such as pg_get_expr(polqual) returns. */
export async function parseExpression(expr: string): Promise<Node | undefined> {
  const stmts = await parseSql(`SELECT 1 WHERE ${expr}`);
  const stmt = stmts[0]?.stmt;
  if (stmt && 'SelectStmt' in stmt) return stmt.SelectStmt.whereClause;
  return undefined;
}

function constValue(node: Node | undefined): string | number | boolean | undefined {
  if (!node) return undefined;
  if ('A_Const' in node) {
    const c = node.A_Const;
    if (c.boolval !== undefined) return c.boolval.boolval === true;
    if (c.ival !== undefined) return c.ival.ival ?? 0;
    if (c.fval !== undefined) return Number(c.fval.fval);
    if (c.sval !== undefined) return c.sval.sval ?? '';
    return undefined;
  }
  if ('TypeCast' in node) {
    const inner = constValue(node.TypeCast.arg);
    const type = stringList(node.TypeCast.typeName?.names).pop();
    if (type === 'bool' && typeof inner === 'string') {
      return ['t', 'true', 'y', 'yes', 'on', '1'].includes(inner.toLowerCase());
    }
    return inner;
  }
  return undefined;
}

/** True when the expression is constantly true: `true`, `1 = 1`, `true OR …`, `true AND true`. */
export function isAlwaysTrue(node: Node | undefined): boolean {
  if (!node) return false;
  const v = constValue(node);
  if (v === true) return true;
  if ('A_Expr' in node) {
    const e = node.A_Expr;
    const op = stringList(e.name).join('.');
    if (e.kind === 'AEXPR_OP' && op === '=') {
      const l = constValue(e.lexpr);
      const r = constValue(e.rexpr);
      return l !== undefined && l === r;
    }
    return false;
  }
  if ('BoolExpr' in node) {
    const args = node.BoolExpr.args ?? [];
    if (node.BoolExpr.boolop === 'OR_EXPR') return args.some(isAlwaysTrue);
    if (node.BoolExpr.boolop === 'AND_EXPR') return args.length > 0 && args.every(isAlwaysTrue);
  }
  return false;
}

/** Unwraps casts and `(SELECT x)` scalar sub-selects (the "initplan" idiom). */
function unwrap(node: Node | undefined): Node | undefined {
  let cur = node;
  for (let i = 0; i < 8 && cur; i++) {
    if ('TypeCast' in cur) cur = cur.TypeCast.arg;
    else if ('SubLink' in cur && cur.SubLink.subLinkType === 'EXPR_SUBLINK') {
      const sub = cur.SubLink.subselect;
      if (!sub || !('SelectStmt' in sub)) return cur;
      const sel = sub.SelectStmt;
      if ((sel.fromClause ?? []).length > 0) return cur;
      const target = sel.targetList?.[0];
      if (!target || !('ResTarget' in target)) return cur;
      cur = target.ResTarget.val;
    } else return cur;
  }
  return cur;
}

/**
 * True for the expressions that yield the caller's user id: `auth.uid()`,
 * ML_PP's `app_uid()`, `current_setting('request.jwt.claim.sub', …)` and
 * `current_setting('request.jwt.claims', …)::jsonb ->> 'sub'`, possibly wrapped.
 */
export function isUidExpression(node: Node | undefined): boolean {
  const n = unwrap(node);
  if (!n) return false;
  if ('FuncCall' in n) {
    const name = stringList(n.FuncCall.funcname);
    const fn = name[name.length - 1];
    if (fn === 'uid' && (name.length === 1 || name[0] === 'auth')) return true;
    if (fn === 'app_uid') return true;
    if (fn === 'current_setting') return constValue(n.FuncCall.args?.[0]) === 'request.jwt.claim.sub';
    return false;
  }
  if ('A_Expr' in n) {
    const op = stringList(n.A_Expr.name).join('.');
    if ((op === '->>' || op === '->') && constValue(n.A_Expr.rexpr) === 'sub') {
      return mentionsJwtClaims(n.A_Expr.lexpr);
    }
  }
  return false;
}

function mentionsJwtClaims(node: Node | undefined): boolean {
  const n = unwrap(node);
  if (!n) return false;
  if ('FuncCall' in n) {
    const name = stringList(n.FuncCall.funcname);
    const fn = name[name.length - 1];
    if (fn === 'jwt' && (name.length === 1 || name[0] === 'auth')) return true;
    if (fn === 'current_setting') return constValue(n.FuncCall.args?.[0]) === 'request.jwt.claims';
  }
  return false;
}

/** auth.uid(), auth.jwt(), auth.role(), current_setting(x, true): may be NULL for an anonymous caller. */
function isNullableAuthCall(node: Node | undefined): boolean {
  const n = unwrap(node);
  if (!n) return false;
  if (isUidExpression(n) || mentionsJwtClaims(n)) return true;
  if ('FuncCall' in n) {
    const name = stringList(n.FuncCall.funcname);
    const fn = name[name.length - 1];
    if (fn === 'role' && (name.length === 1 || name[0] === 'auth')) return true;
    if (fn === 'current_setting') {
      const missingOk = constValue(n.FuncCall.args?.[1]);
      const setting = constValue(n.FuncCall.args?.[0]);
      return missingOk === true && typeof setting === 'string' && setting.startsWith('request.jwt');
    }
  }
  return false;
}

function flattenOr(node: Node | undefined): Node[] {
  if (!node) return [];
  if ('BoolExpr' in node && node.BoolExpr.boolop === 'OR_EXPR') return (node.BoolExpr.args ?? []).flatMap(flattenOr);
  return [node];
}

/**
 * True when a top-level disjunct is `<auth call> IS NULL` (or `NOT (<auth call> IS NOT NULL)`):
 * the whole expression is then true for every caller without a JWT, i.e. anon.
 */
export function hasNullAuthDisjunct(node: Node | undefined): boolean {
  return flattenOr(node).some((d) => {
    if ('NullTest' in d) return d.NullTest.nulltesttype === 'IS_NULL' && isNullableAuthCall(d.NullTest.arg);
    if ('BoolExpr' in d && d.BoolExpr.boolop === 'NOT_EXPR') {
      const inner = d.BoolExpr.args?.[0];
      return !!inner && 'NullTest' in inner && inner.NullTest.nulltesttype === 'IS_NOT_NULL' && isNullableAuthCall(inner.NullTest.arg);
    }
    return false;
  });
}

/** True when the expression reads Supabase's end-user-editable `user_metadata`. */
export function referencesUserMetadata(node: Node | undefined): boolean {
  let found = false;
  const visit = (v: unknown): void => {
    if (found) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === 'sval' && (x === 'user_metadata' || x === 'raw_user_meta_data')) found = true;
        else visit(x);
      }
    }
  };
  visit(node);
  return found;
}

type Scope = Map<string, string>;

function addFromItem(item: Node, scope: Scope): void {
  if ('RangeVar' in item) {
    const rel = item.RangeVar.relname ?? '';
    scope.set(item.RangeVar.alias?.aliasname ?? rel, rel);
  } else if ('JoinExpr' in item) {
    if (item.JoinExpr.larg) addFromItem(item.JoinExpr.larg, scope);
    if (item.JoinExpr.rarg) addFromItem(item.JoinExpr.rarg, scope);
  } else if ('RangeSubselect' in item) {
    const alias = item.RangeSubselect.alias?.aliasname;
    if (alias) scope.set(alias, '(subquery)');
  }
}

function resolveColumn(node: Node | undefined, scopes: Scope[]): { rel: string | undefined; col: string } | undefined {
  if (!node || !('ColumnRef' in node)) return undefined;
  const names = stringList(node.ColumnRef.fields);
  const col = names[names.length - 1];
  if (col === undefined) return undefined;
  if (names.length >= 2) {
    const qualifier = names[names.length - 2] ?? '';
    for (let i = scopes.length - 1; i >= 0; i--) {
      const rel = scopes[i]?.get(qualifier);
      if (rel !== undefined) return { rel, col };
    }
    return { rel: qualifier, col };
  }
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope && scope.size === 1) return { rel: [...scope.values()][0], col };
    if (scope && scope.size > 1) return { rel: undefined, col };
  }
  return { rel: undefined, col };
}

/**
 * Finds comparisons `profils.id = <caller's uid>` (ML_PP's known bug: a
 * profile's own id is a separate uuid; the caller is `profils.user_id`).
 * `policyTable` is the table the expression belongs to (unqualified columns
 * at top level refer to it). Returns the comparisons found, as text.
 */
export function findProfilsIdUidComparisons(node: Node | undefined, policyTable: string): string[] {
  const hits: string[] = [];
  const isProfilsId = (n: Node | undefined, scopes: Scope[]): boolean => {
    const r = resolveColumn(unwrap(n), scopes);
    return r?.rel === 'profils' && r.col === 'id';
  };
  const visit = (v: unknown, scopes: Scope[]): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, scopes);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const obj = v as Record<string, unknown>;
    if ('SelectStmt' in obj) {
      const sel = (v as Extract<Node, { SelectStmt: unknown }>).SelectStmt;
      const scope: Scope = new Map();
      for (const item of sel.fromClause ?? []) addFromItem(item, scope);
      const inner = [...scopes, scope];
      for (const x of Object.values(sel)) visit(x, inner);
      return;
    }
    if ('A_Expr' in obj) {
      const e = (v as Extract<Node, { A_Expr: unknown }>).A_Expr;
      const op = stringList(e.name).join('.');
      if (e.kind === 'AEXPR_OP' && op === '=') {
        if ((isProfilsId(e.lexpr, scopes) && isUidExpression(e.rexpr)) || (isProfilsId(e.rexpr, scopes) && isUidExpression(e.lexpr))) {
          hits.push('profils.id = auth.uid()');
        }
      }
    }
    for (const x of Object.values(obj)) visit(x, scopes);
  };
  visit(node, [new Map([[policyTable, policyTable]])]);
  return hits;
}
