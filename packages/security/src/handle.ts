import { withTransaction } from '@vigie/db';
import type pg from 'pg';
import { asRecord, collectAccess, collectAuth, collectOutboxRules, collectRls, collectTransitions, isUuid } from './collect.js';
import { commitEvaluation } from './journal.js';
import type { SecuritySettings } from './settings.js';
import type { Collected, SecurityEvent, SecurityResult } from './types.js';

/** Outbox event kinds handleSecurityEvent evaluates (others are ignored). */
export const SECURITY_EVENT_KINDS = [
  'auth.audit',
  'profil.role_changed',
  'log_action.created',
  'adjustment.created',
  'access.event',
  'ddl.policy_changed',
  'alert.transition',
] as const;

/**
 * Evaluates the security rules for one outbox event, appends what is
 * suspicious to vigie.security_journal and syncs public.system_alerts through
 * vigie.sync_alerts, in one transaction. Idempotent: a replayed event finds
 * its journal rows and changes nothing. Does not mark the event processed
 * (the caller does).
 */
export async function handleSecurityEvent(pool: pg.Pool, event: SecurityEvent, settings: SecuritySettings): Promise<SecurityResult> {
  const id = Number(event.id);
  const at = event.created_at instanceof Date ? event.created_at : new Date(event.created_at);
  const payload = asRecord(event.payload);
  const collect = async (c: pg.PoolClient): Promise<Collected | null> => {
    switch (event.kind) {
      case 'auth.audit':
        return collectAuth(c, settings, { auditId: event.entity_id, eventId: id });
      case 'profil.role_changed':
        return collectOutboxRules(c, settings, { eventId: id }, ['role', 'offHours']);
      case 'log_action.created':
        return collectOutboxRules(c, settings, { eventId: id }, ['forged']);
      case 'adjustment.created':
        return collectOutboxRules(c, settings, { eventId: id }, ['offHours']);
      case 'access.event':
        return isUuid(event.entity_id) ? collectAccess(c, settings, { batchId: event.entity_id, eventId: id }) : null;
      case 'ddl.policy_changed':
        return collectRls(c, settings, { id, at, payload });
      case 'alert.transition': {
        const tid = Number(payload.transition_id);
        return Number.isInteger(tid) && tid > 0 ? collectTransitions(c, settings, { transitionId: tid, eventId: id }) : null;
      }
      default:
        return null;
    }
  };
  if (!(SECURITY_EVENT_KINDS as readonly string[]).includes(event.kind) || !Number.isFinite(id)) return { findings: [], journaled: 0 };
  return withTransaction(pool, async (c) => {
    const collected = await collect(c);
    if (!collected) return { findings: [], journaled: 0 };
    return commitEvaluation(c, collected, settings.lang);
  });
}
