import { generateOperations } from '@vigie/seed';
import { createTestDatabase } from '@vigie/testkit';
import pg from 'pg';

// Helpers of the integrity tests: a database of its own with a realistic
// generated month, and reads of system_alerts / vigie.alert_transitions as a
// user (the ML_PP screen, the notifier) sees them.

export interface AlertRow {
  id: string;
  check_code: string;
  entity_type: string;
  entity_id: string;
  status: string;
  payload: Record<string, unknown>;
  resolved_by: string | null;
}

/** Runs fn on a fresh reference database (superuser client `c`, Vigie's least-privilege client `app`) with a generated month. */
export async function withDb<T>(prefix: string, fn: (c: pg.Client, app: pg.Client) => Promise<T>): Promise<T> {
  const db = await createTestDatabase({ prefix });
  const c = new pg.Client({ connectionString: db.url });
  const app = new pg.Client({ connectionString: db.appUrl });
  await c.connect();
  await app.connect();
  try {
    await generateOperations(c, { days: 30, seed: 7 });
    return await fn(c, app);
  } finally {
    await app.end();
    await c.end();
    await db.drop();
  }
}

export async function alerts(c: pg.ClientBase, code?: string): Promise<AlertRow[]> {
  const { rows } = await c.query<AlertRow>(
    'select id, check_code, entity_type, entity_id::text, status, payload, resolved_by from public.system_alerts where $1::text is null or check_code = $1 order by check_code, entity_id',
    [code ?? null],
  );
  return rows;
}

/** The alerts still OPEN or ACK, as `CODE entity_id`. */
export async function unresolved(c: pg.ClientBase): Promise<string[]> {
  return (await alerts(c)).filter((a) => a.status !== 'RESOLVED').map((a) => `${a.check_code} ${a.status}`);
}

export async function transitions(c: pg.ClientBase, alertId: string): Promise<string[]> {
  const { rows } = await c.query<{ kind: string }>('select kind from vigie.alert_transitions where alert_id = $1 order by id', [alertId]);
  return rows.map((r) => r.kind);
}

/** Time passes: Vigie's record of when a CDR entered its statut moves back. */
export async function age(c: pg.ClientBase, cdrId: string, hours: number): Promise<void> {
  await c.query('update vigie.cdr_status_history set entered_at = entered_at - make_interval(hours => $2) where cdr_id = $1', [cdrId, hours]);
}
