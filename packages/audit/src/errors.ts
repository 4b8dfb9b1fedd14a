export type AuditErrorCode = 'AUDIT_CLIENT_IN_TRANSACTION' | 'AUDIT_PROBE_ROLLBACK_FAILED';

/** Errors thrown by @vigie/audit, each with a stable code. */
export class AuditError extends Error {
  readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.code = code;
  }
}
