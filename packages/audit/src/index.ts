/**
 * @vigie/audit — RLS audit of a live ML_PP database and lint of SQL migrations.
 * See README.md for the API, the finding codes and the lint rules.
 */
export { auditRls, passedRls } from './audit.js';
export { FINDING_CODES, type FindingCode } from './catalog.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export { SYSTEM_SCHEMAS } from './inspect.js';
export {
  ANNOTATION,
  DEFAULT_PROTECTED_RELATIONS,
  LINT_RULES,
  type LintRule,
  lintExitCode,
  lintMigrations,
  readMigrationFiles,
  renderLintText,
} from './lint.js';
export { auditExitCode, renderAuditJson, renderAuditMarkdown } from './render.js';
export type {
  AuditOptions,
  AuditReport,
  AuditSummary,
  Finding,
  Lang,
  LintIssue,
  LintOptions,
  LintResult,
  ProbeOutcome,
  ProbeResult,
  ProbeRole,
  ProbeRow,
  Severity,
} from './types.js';
