/**
 * Public types of @vigie/audit. Everything the CLI (or any other caller)
 * consumes is declared here; the shapes are part of the JSON contract
 * (`format` is bumped on any breaking change).
 */

export type Severity = 'ERROR' | 'WARN' | 'INFO';
export type Lang = 'fr' | 'en';

/** One static or dynamic finding of `auditRls`. */
export interface Finding {
  /** Stable code, e.g. `RLS_POLICY_PUBLIC_ROLE` (see README for the catalogue). */
  code: string;
  severity: Severity;
  /** The object concerned: `public.citernes`, `public.citernes."read citernes"`, `public.app_uid()`, `schema astm`. */
  object: string;
  title_fr: string;
  title_en: string;
  /** What was seen, in French. */
  detail: string;
  detail_en: string;
  /** How to fix it, in French (usually with the SQL to run). */
  fix: string;
  fix_en: string;
  /** Machine-readable facts behind the finding (policy roles, expression, probe result…). */
  meta?: Record<string, unknown>;
}

/**
 * What one probe attempt produced.
 * - `allowed`: the statement succeeded and reached rows (`rows` > 0; for INSERT, 1).
 * - `denied_privilege`: refused for lack of GRANT (SQLSTATE 42501 on a table the role holds no privilege on).
 * - `denied_rls`: refused or filtered by row level security (42501 "violates row-level security policy",
 *    or 0 rows reached while the table holds rows).
 * - `denied_constraint`: grants and RLS let the statement through, a constraint refused the test row
 *    (class 23: NOT NULL, CHECK, UNIQUE, FK).
 * - `denied_trigger`: a trigger or function raised (e.g. ML_PP's immutability triggers). `rls_without_triggers`
 *    then tells what RLS alone would have done, when the auditor could replay with triggers disabled.
 * - `inconclusive`: the table is empty, so a read or an UPDATE/DELETE that reaches 0 rows proves nothing.
 * - `not_applicable`: e.g. writes on a view.
 * - `error`: any other failure (timeout, lock…), with its SQLSTATE.
 */
export type ProbeOutcome =
  | 'allowed'
  | 'denied_privilege'
  | 'denied_rls'
  | 'denied_constraint'
  | 'denied_trigger'
  | 'inconclusive'
  | 'not_applicable'
  | 'error';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** Rows visible (SELECT) or reached (INSERT/UPDATE/DELETE) when the statement succeeded. */
  rows?: number;
  /** SQLSTATE of the refusal, when there was one. */
  sqlstate?: string;
  /** Server message of the refusal (first line). */
  message?: string;
  /** For `denied_trigger`: the outcome of the same statement replayed with triggers disabled. */
  rls_without_triggers?: ProbeOutcome;
}

export type ProbeRole = 'anon' | 'authenticated_sans_profil';

export interface ProbeRow {
  role: ProbeRole;
  /** `schema.table` */
  table: string;
  kind: 'table' | 'view' | 'materialized_view' | 'foreign_table';
  /** Rows in the relation as seen by the auditing connection (null if it could not count them). */
  total_rows: number | null;
  select: ProbeResult;
  insert: ProbeResult;
  update: ProbeResult;
  delete: ProbeResult;
}

export interface AuditOptions {
  /** Schemas exposed through the API (PostgREST `db-schemas`). Default `['public']`. */
  schemas?: string[];
  /** Run the dynamic probe (writes inside transactions that are always rolled back). Default false. */
  probe?: boolean;
  /** Name shown in the report. Default: `current_database()`. */
  database?: string;
  /** Release shown in the report (APP_RELEASE). Default null. */
  release?: string;
  /** Clock for the report date. Default `new Date()`. */
  now?: Date;
  /** Per-statement timeout of the probe, in ms. Default 5000. */
  probeStatementTimeoutMs?: number;
  /** Lock wait timeout of the probe, in ms. Default 1000. */
  probeLockTimeoutMs?: number;
}

export interface AuditSummary {
  error: number;
  warn: number;
  info: number;
  /** Number of policies whose roles include `public` (the "0 public policy" standard wants 0). */
  public_policies: number;
  /** Tables and views of the exposed schemas. */
  exposed_relations: number;
  probe: 'done' | 'skipped';
}

export interface AuditReport {
  format: 'vigie.audit.rls/1';
  generated_at: string;
  database: string;
  release: string | null;
  server_version: string;
  schemas: string[];
  /** Supabase API roles found in the cluster. */
  roles: { anon: boolean; authenticated: boolean };
  summary: AuditSummary;
  findings: Finding[];
  probe: ProbeRow[];
  /** Why the probe was skipped or partial, in French. */
  probe_notes: string[];
}

// ---------------------------------------------------------------------------
// Migration lint

export interface LintIssue {
  file: string;
  /** 1-based line of the statement (or of the annotation / parse error). */
  line: number;
  /** 1-based column, in characters. */
  column?: number;
  rule: string;
  severity: Severity;
  message_fr: string;
  message_en: string;
}

export interface LintOptions {
  /**
   * ML_PP relations whose destruction or alteration breaks the customer's contract.
   * Bare names are taken in schema `public`. Default: DEFAULT_PROTECTED_RELATIONS.
   */
  protectedRelations?: string[];
  /** Schemas whose tables are business tables reachable by the API. Default `['public']`. */
  businessSchemas?: string[];
}

export interface LintResult {
  format: 'vigie.lint.migrations/1';
  files: number;
  statements: number;
  issues: LintIssue[];
  summary: { error: number; warn: number; info: number };
}
