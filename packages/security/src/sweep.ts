import { withTransaction } from '@vigie/db';
import type pg from 'pg';
import { collectAccess, collectAuth, collectOutboxRules, collectRls, collectTransitions } from './collect.js';
import { commitEvaluation } from './journal.js';
import type { SecuritySettings } from './settings.js';
import type { Collected, SecurityFinding } from './types.js';

export interface SecuritySweepResult {
  findings: SecurityFinding[];
  journaled: number;
  steps: Record<string, { findings: number; journaled: number; error?: string }>;
}

/** Raised after a sweep in which at least one step failed (the other steps ran). */
export class SecuritySweepError extends Error {
  readonly code = 'VIGIE_SECURITY_SWEEP_FAILED';
  constructor(
    message: string,
    readonly result: SecuritySweepResult,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'SecuritySweepError';
  }
}

/**
 * The safety net: re-evaluates every security rule unscoped. Window and state
 * rules (bursts, RLS) are evaluated over the current state with full coverage,
 * so alerts whose condition is gone are resolved; event rules look back
 * `sweepLookbackHours` for events the event path has not journaled. Each step
 * runs in its own transaction; a failing step does not stop the others.
 */
export async function securitySweep(pool: pg.Pool, settings: SecuritySettings): Promise<SecuritySweepResult> {
  const { rows } = await pool.query<{ since: Date }>('select now() - make_interval(hours => $1::int) as since', [settings.sweepLookbackHours]);
  const since = rows[0]?.since ?? new Date(Date.now() - settings.sweepLookbackHours * 3_600_000);
  const steps: Array<[string, (c: pg.PoolClient) => Promise<Collected>]> = [
    ['rls', (c) => collectRls(c, settings)],
    ['access', (c) => collectAccess(c, settings, { since })],
    ['auth', (c) => collectAuth(c, settings, { since })],
    ['outbox', (c) => collectOutboxRules(c, settings, { since }, ['role', 'forged', 'offHours'])],
    ['alert_actions', (c) => collectTransitions(c, settings, { since })],
  ];
  const result: SecuritySweepResult = { findings: [], journaled: 0, steps: {} };
  let firstError: unknown = null;
  for (const [name, collect] of steps) {
    try {
      const r = await withTransaction(pool, async (c) => commitEvaluation(c, await collect(c), settings.lang));
      result.findings.push(...r.findings);
      result.journaled += r.journaled;
      result.steps[name] = { findings: r.findings.length, journaled: r.journaled };
    } catch (err) {
      firstError ??= err;
      result.steps[name] = { findings: 0, journaled: 0, error: err instanceof Error ? err.message : String(err) };
    }
  }
  if (firstError) {
    const failed = Object.entries(result.steps).filter(([, v]) => v.error).map(([k, v]) => `${k}: ${v.error}`);
    throw new SecuritySweepError(`balayage sécurité incomplet : ${failed.join(' ; ')}`, result, firstError);
  }
  return result;
}
