import { spawnSync } from 'node:child_process';
import { USERS, injectAnomaly } from '@vigie/seed';
import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';

function vigie(args: string[], env: Record<string, string>) {
  const res = spawnSync(process.execPath, [`${repoRoot}packages/cli/dist/bin.js`, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

let db: TestDatabase;
let c: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'clialerts' });
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
});
afterAll(async () => {
  await c?.end();
  await db?.drop();
});

describe('vigie sweep and vigie alerts', () => {
  it('sweep prints the findings and exits 1 when CRITICAL ones exist; alerts ack/resolve record who acted, admin or directeur only', async () => {
    const env = { DATABASE_URL: db.appUrl };
    const clean = vigie(['sweep'], env);
    expect(clean.code).toBe(0);

    const injected = await injectAnomaly(c, 'STOCK_NEGATIF');
    const sweep = vigie(['sweep'], env);
    expect(sweep.code).toBe(1);
    expect(sweep.out).toContain('STOCK_NEGATIF');
    // Numbers the French way in the French table (narrow no-break space, decimal comma), as in Slack and the alert rows.
    expect(sweep.out).toMatch(/Stock comptable négatif : .* : -2\u202f50\d,\d L ambiant/);

    const list = vigie(['alerts', 'list', '--json'], env);
    expect(list.code).toBe(0);
    const alerts = JSON.parse(list.out) as Array<{ id: string; check_code: string; status: string }>;
    const alert = alerts.find((a) => a.check_code === 'STOCK_NEGATIF');
    expect(alert?.status).toBe('OPEN');
    expect(injected.kind).toBe('STOCK_NEGATIF');

    const refused = vigie(['alerts', 'ack', alert!.id, '--by', USERS.lecture.email], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('seuls les rôles admin et directeur');
    expect(refused.err).toContain('lecture');

    const ack = vigie(['alerts', 'ack', alert!.id, '--by', USERS.directeur.email, '--note', 'citerne vérifiée sur place'], env);
    expect(ack.code).toBe(0);
    expect(ack.out).toContain(`ACK (par ${USERS.directeur.email}, ${USERS.directeur.userId})`);
    const resolve = vigie(['alerts', 'resolve', alert!.id, '--by', USERS.admin.email], env);
    expect(resolve.code).toBe(0);

    const { rows } = await c.query(
      'select kind, actor::text, origin from vigie.alert_transitions where alert_id = $1 order by id',
      [alert!.id],
    );
    expect(rows).toEqual([
      { kind: 'opened', actor: null, origin: 'evaluator' },
      { kind: 'acknowledged', actor: USERS.directeur.userId, origin: 'cli' },
      { kind: 'resolved', actor: USERS.admin.userId, origin: 'cli' },
    ]);
    const row = (await c.query('select status, acknowledged_by::text, resolved_by::text, payload from public.system_alerts where id = $1', [alert!.id])).rows[0];
    expect(row).toMatchObject({ status: 'RESOLVED', acknowledged_by: USERS.directeur.userId, resolved_by: USERS.admin.userId });
    expect(row.payload.ack_note).toBe('citerne vérifiée sur place');
  });

  it('refuses a bad alert id with the usage, exit 2', () => {
    const r = vigie(['alerts', 'ack', 'not-an-id', '--by', USERS.admin.email], { DATABASE_URL: db.appUrl });
    expect(r.code).toBe(2);
    expect(r.err).toContain('identifiant d’alerte attendu');
  });
});
