import type { FactsByCode, JournalSource, SecurityCheckCode, Severity } from './catalogue.js';

/** An outbox event as the evaluator hands it over. */
export interface SecurityEvent {
  id: number | string;
  kind: string;
  entity_id: string;
  payload: unknown;
  created_at: Date | string;
}

/** What a security alert's payload carries (public.system_alerts.payload). */
export interface SecurityAlertPayload {
  family: 'security';
  message_fr: string;
  message_en: string;
  /** The user the alert is about (auth user id), when there is one. */
  user: string | null;
  email: string | null;
  ip: string | null;
  facts: Record<string, unknown>;
  /** The outbox event that raised it and when its source happened (time to detect). */
  vigie: { event_id: number | null; event_at: string };
}

/** One finding, in the shape vigie.sync_alerts takes. */
export interface SecurityFinding {
  check_code: SecurityCheckCode;
  severity: Severity;
  entity_type: string;
  entity_id: string;
  message: string;
  payload: SecurityAlertPayload;
}

export interface SecurityResult {
  findings: SecurityFinding[];
  /** Journal rows written by this call. */
  journaled: number;
}

/** A suspicious (or security-relevant) event, as it becomes one journal row. */
export interface Observation {
  /** Idempotency key: one journal row per source event (`auth:<id>`, `access:<id>`, `outbox:<id>`, `transition:<id>`…). */
  sourceKey: string;
  source: JournalSource;
  kind: string;
  at: Date;
  actor: { userId: string | null; email: string | null; role: string | null };
  ip: string | null;
  userAgent: string | null;
  target: { type: string | null; id: string | null; label: string | null };
  details: Record<string, unknown>;
  eventId: number | null;
  /** Journaled even when no rule fires (suspicious in itself: a failed login, a 403, a policy DDL…). */
  journalAlways: boolean;
}

/** A rule's hit before it becomes a finding. */
export interface Detected<C extends SecurityCheckCode = SecurityCheckCode> {
  code: C;
  severity: Severity;
  entityType: string;
  entityId: string;
  facts: FactsByCode[C];
  user: string | null;
  email: string | null;
  ip: string | null;
  eventId: number | null;
  eventAt: Date;
  /** The observations it belongs to (their journal rows list it). */
  sourceKeys: string[];
  /**
   * Synced even when all its observations were journaled before: state and
   * window rules evaluated with a coverage, whose complete set of findings
   * must reach sync_alerts (or they would be resolved).
   */
  always: boolean;
  /** The journal row to write when it opens or reopens an alert without a fresh observation (sweep). */
  fallback?: Observation;
}

export type AnyDetected = { [C in SecurityCheckCode]: Detected<C> }[SecurityCheckCode];

export interface Coverage {
  check_code: SecurityCheckCode;
  entity_ids: string[] | null;
}

export interface Collected {
  observations: Observation[];
  detected: AnyDetected[];
  coverage: Coverage[];
}

export const emptyCollected = (): Collected => ({ observations: [], detected: [], coverage: [] });

export function merge(...parts: Collected[]): Collected {
  return {
    observations: parts.flatMap((p) => p.observations),
    detected: parts.flatMap((p) => p.detected),
    coverage: parts.flatMap((p) => p.coverage),
  };
}
