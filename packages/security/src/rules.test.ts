import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, asUser, authAudit, createUser, type Env, hoursAround, journal, mark, processEvents, setup } from './__tests__/support.js';
import { handleSecurityEvent } from './handle.js';
import { securitySettings } from './settings.js';
import { securitySweep } from './sweep.js';

// Every rule fired from its real source (the business write, the Supabase
// Auth journal, the DDL), then a normal-traffic case that must not fire.
// Off-hours aside, working hours cover every hour so that the time the suite
// runs at never matters.
const S = securitySettings({ workingHours: null, workingHoursText: 'always' });
let env: Env;

beforeAll(async () => {
  env = await setup('security');
});
afterAll(async () => {
  await env?.close();
});

describe('SEC_ROLE_CHANGED', () => {
  it('is CRITICAL when a user raises their own role through the app (UPDATE profils as that user)', async () => {
    const u = await createUser(env.admin, 'lecture', 'self');
    const m = await mark(env.admin);
    await asUser(env.admin, u.userId, (c) => c.query("update public.profils set role = 'admin' where user_id = auth.uid()"));
    const res = await processEvents(env, m, S);
    expect(res.findings.map((f) => [f.check_code, f.severity])).toEqual([['SEC_ROLE_CHANGED', 'CRITICAL']]);
    const [alert] = (await alerts(env.admin, 'SEC_ROLE_CHANGED')).filter((a) => a.payload.user === u.userId);
    expect(alert).toMatchObject({ status: 'OPEN', severity: 'CRITICAL', entity_type: 'ROLE_CHANGE' });
    expect(alert!.message).toBe(`${u.email} a changé son propre rôle : lecture → admin`);
    expect(alert!.payload).toMatchObject({ family: 'security', user: u.userId, email: u.email, message_en: `${u.email} changed their own role: lecture → admin` });
    const rows = await journal(env.admin, "kind = 'role_changed' and actor_user_id = $1", [u.userId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      severity: 'CRITICAL',
      actor_email: u.email,
      target_type: 'PROFIL',
      target_id: u.profilId,
      check_codes: ['SEC_ROLE_CHANGED'],
      alert_ids: [alert!.id],
      source: 'profils',
    });
    expect(rows[0]!.details).toMatchObject({ from: 'lecture', to: 'admin', self: true });
  });

  it('is CRITICAL when anyone becomes directeur, WARN for an ordinary change by an admin', async () => {
    const admin = await createUser(env.admin, 'admin', 'boss');
    const a = await createUser(env.admin, 'gerant', 'promoted');
    const b = await createUser(env.admin, 'lecture', 'field');
    const m = await mark(env.admin);
    await asUser(env.admin, admin.userId, async (c) => {
      await c.query("update public.profils set role = 'directeur' where user_id = $1", [a.userId]);
      await c.query("update public.profils set role = 'operateur' where user_id = $1", [b.userId]);
    });
    const res = await processEvents(env, m, S);
    const byUser = new Map(res.findings.map((f) => [f.payload.user, f]));
    expect(byUser.get(a.userId)).toMatchObject({ severity: 'CRITICAL', message: `Rôle de ${a.email} changé : gerant → directeur, par ${admin.email}` });
    expect(byUser.get(b.userId)).toMatchObject({ severity: 'WARN', message: `Rôle de ${b.email} changé : lecture → operateur, par ${admin.email}` });
  });

  it('does not fire on normal traffic: a profile edit without role change, a new lecture profile', async () => {
    const u = await createUser(env.admin, 'gerant', 'quiet');
    const m = await mark(env.admin);
    await asUser(env.admin, u.userId, (c) => c.query("update public.profils set nom_complet = 'Nouveau Nom' where user_id = auth.uid()"));
    await createUser(env.admin, 'lecture', 'newcomer');
    const before = await journal(env.admin);
    const res = await processEvents(env, m, S);
    expect(res.findings).toEqual([]);
    expect(await journal(env.admin)).toHaveLength(before.length);
  });

  it('is idempotent: a replayed event changes nothing, a resolved alert stays resolved', async () => {
    const u = await createUser(env.admin, 'operateur', 'replay');
    // ML_PP's governance: only admin and directeur resolve alerts (the escalated user cannot close their own).
    const reviewer = await createUser(env.admin, 'directeur', 'reviewer-replay');
    const m = await mark(env.admin);
    await asUser(env.admin, u.userId, (c) => c.query("update public.profils set role = 'gerant' where user_id = auth.uid()"));
    await processEvents(env, m, S);
    const [alert] = (await alerts(env.admin, 'SEC_ROLE_CHANGED')).filter((a) => a.payload.user === u.userId);
    await env.app.query("select * from vigie.act_on_alert($1, 'RESOLVE', $2, 'vu avec l''intéressé')", [alert!.id, reviewer.userId]);
    const { rows } = await env.admin.query("select id, kind, entity_id, payload, created_at from vigie.outbox where id > $1 and kind = 'profil.role_changed'", [m]);
    const again = await handleSecurityEvent(env.app, rows[0], S);
    expect(again).toEqual({ findings: [], journaled: 0 });
    const [after] = (await alerts(env.admin, 'SEC_ROLE_CHANGED')).filter((a) => a.payload.user === u.userId);
    expect(after!.status).toBe('RESOLVED');
  });
});

describe('SEC_LOG_ACTION_FORGED', () => {
  it('fires when a user writes a log_actions row under another user id (S2 insert policy), not for their own rows', async () => {
    // ML_PP's S2 policy lets any authenticated user insert (DOMAIN §5, P1);
    // the reference database carries SNAP's stricter one, so put S2's back.
    await env.admin.query('drop policy log_actions_insert_authenticated on public.log_actions');
    await env.admin.query('create policy log_actions_insert_authenticated on public.log_actions for insert to authenticated with check (true)');
    try {
      const forger = await createUser(env.admin, 'operateur', 'forger');
      const victim = await createUser(env.admin, 'directeur', 'victim');
      const m = await mark(env.admin);
      await asUser(env.admin, forger.userId, async (c) => {
        await c.query("insert into public.log_actions (user_id, action, module, niveau) values ($1, 'SORTIE_VALIDE', 'sorties', 'INFO')", [victim.userId]);
        await c.query("insert into public.log_actions (user_id, action, module) values ($1, 'SORTIE_CREEE', 'sorties')", [forger.userId]);
        await c.query("insert into public.log_actions (user_id, action, module) values (null, 'CONSULTATION', 'stocks')");
      });
      const res = await processEvents(env, m, S);
      expect(res.findings).toHaveLength(1);
      expect(res.findings[0]).toMatchObject({
        check_code: 'SEC_LOG_ACTION_FORGED',
        severity: 'CRITICAL',
        message: `Journal d’audit falsifié : ${forger.email} a écrit « SORTIE_VALIDE » (sorties) dans log_actions au nom de ${victim.email}`,
      });
      const rows = await journal(env.admin, "kind = 'log_forged' and actor_user_id = $1", [forger.userId]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ severity: 'CRITICAL', target_type: 'LOG_ACTION', target_label: 'SORTIE_VALIDE', check_codes: ['SEC_LOG_ACTION_FORGED'] });
      expect(rows[0]!.details).toMatchObject({ claimed_user_id: victim.userId, claimed_email: victim.email });
    } finally {
      await env.admin.query('drop policy log_actions_insert_authenticated on public.log_actions');
      await env.admin.query(
        'create policy log_actions_insert_authenticated on public.log_actions for insert to authenticated with check (user_id is null or user_id = public.app_uid())',
      );
    }
  });
});

describe('SEC_PRIVILEGED_OFF_HOURS', () => {
  it('fires for a stock adjustment outside working hours, not inside them', async () => {
    const admin = await createUser(env.admin, 'admin', 'night');
    const { rows: ref } = await env.admin.query<{ citerne_id: string; produit_id: string }>(
      "select c.id as citerne_id, c.produit_id from public.citernes c join public.produits p on p.id = c.produit_id where p.code = 'G.O' and c.statut = 'active' order by c.nom limit 1",
    );
    const { rows: rec } = await env.admin.query<{ id: string }>(
      `insert into public.receptions (citerne_id, produit_id, index_avant, index_apres, temperature_ambiante_c, densite_a_15, proprietaire_type)
       values ($1, $2, 0, 1000, 25, 835, 'MONALUXE') returning id`,
      [ref[0]!.citerne_id, ref[0]!.produit_id],
    );
    const adjust = (delta: number) =>
      asUser(env.admin, admin.userId, (c) =>
        c.query(
          "insert into public.stocks_adjustments (mouvement_type, mouvement_id, delta_ambiant, reason, created_by) values ('RECEPTION', $1, $2, 'écart de jaugeage constaté', $3)",
          [rec[0]!.id, delta, admin.userId],
        ),
      );
    const offHours = securitySettings({ workingHoursText: hoursAround(S.timeZone, false) });
    const inHours = securitySettings({ workingHoursText: hoursAround(S.timeZone, true) });

    let m = await mark(env.admin);
    await adjust(-12);
    const night = await processEvents(env, m, offHours);
    expect(night.findings.map((f) => [f.check_code, f.severity, f.entity_type])).toEqual([['SEC_PRIVILEGED_OFF_HOURS', 'WARN', 'OFF_HOURS']]);
    expect(night.findings[0]!.message).toMatch(new RegExp(`^Ajustement de stock hors heures ouvrées par ${admin.email}, le \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}`));
    const rows = await journal(env.admin, "kind = 'privileged_action' and actor_user_id = $1", [admin.userId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ target_type: 'ADJUSTMENT', check_codes: ['SEC_PRIVILEGED_OFF_HOURS'], source: 'stocks_adjustments' });

    m = await mark(env.admin);
    await adjust(-13);
    const day = await processEvents(env, m, inHours);
    expect(day.events).toBe(1);
    expect(day.findings).toEqual([]);
  });

  it('also watches role changes outside working hours', async () => {
    const admin = await createUser(env.admin, 'admin', 'nightowl');
    const u = await createUser(env.admin, 'lecture', 'target');
    const m = await mark(env.admin);
    await asUser(env.admin, admin.userId, (c) => c.query("update public.profils set role = 'operateur' where user_id = $1", [u.userId]));
    const res = await processEvents(env, m, securitySettings({ workingHoursText: hoursAround(S.timeZone, false) }));
    expect(res.findings.map((f) => f.check_code).sort()).toEqual(['SEC_PRIVILEGED_OFF_HOURS', 'SEC_ROLE_CHANGED']);
    const rows = await journal(env.admin, "kind = 'role_changed' and target_id = $1", [u.profilId]);
    expect(rows[0]!.check_codes.sort()).toEqual(['SEC_PRIVILEGED_OFF_HOURS', 'SEC_ROLE_CHANGED']);
  });
});

describe('SEC_RLS_PUBLIC_POLICY and SEC_RLS_DISABLED (live DDL)', () => {
  it('fires the moment a {public} policy is created, and resolves when it is dropped', async () => {
    let m = await mark(env.admin);
    await env.admin.query('create policy "read citernes" on public.citernes for select using (true)');
    let res = await processEvents(env, m, S);
    expect(res.findings.map((f) => [f.check_code, f.severity, f.message])).toEqual([
      ['SEC_RLS_PUBLIC_POLICY', 'CRITICAL', 'Politique RLS « read citernes » sur public.citernes ouverte à public (SELECT) : contraire à la règle « 0 politique publique »'],
    ]);
    const [alert] = await alerts(env.admin, 'SEC_RLS_PUBLIC_POLICY');
    expect(alert).toMatchObject({ status: 'OPEN', entity_type: 'POLICY' });
    const rows = await journal(env.admin, "kind = 'ddl_policy' and target_id = 'read citernes on public.citernes'");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ severity: 'CRITICAL', target_type: 'POLICY', check_codes: ['SEC_RLS_PUBLIC_POLICY'], alert_ids: [alert!.id], source: 'ddl' });
    expect(rows[0]!.details).toMatchObject({ tag: 'CREATE POLICY', db_user: 'postgres', roles: ['public'] });

    m = await mark(env.admin);
    await env.admin.query('drop policy "read citernes" on public.citernes');
    res = await processEvents(env, m, S);
    expect((await alerts(env.admin, 'SEC_RLS_PUBLIC_POLICY'))[0]!.status).toBe('RESOLVED');
    expect(await journal(env.admin, "kind = 'ddl_policy' and details->>'tag' = 'DROP POLICY'")).toHaveLength(1);
  });

  it('fires when RLS is disabled on a business table, and resolves when it is enabled again', async () => {
    let m = await mark(env.admin);
    await env.admin.query('alter table public.stocks_journaliers disable row level security');
    await processEvents(env, m, S);
    const [alert] = await alerts(env.admin, 'SEC_RLS_DISABLED');
    expect(alert).toMatchObject({ status: 'OPEN', severity: 'CRITICAL', entity_type: 'TABLE' });
    expect(alert!.message).toBe('RLS désactivée sur la table public.stocks_journaliers : 1 politique ignorée');
    expect((await journal(env.admin, "kind = 'ddl_policy' and target_id = 'public.stocks_journaliers'"))[0]).toMatchObject({ check_codes: ['SEC_RLS_DISABLED'] });
    m = await mark(env.admin);
    await env.admin.query('alter table public.stocks_journaliers enable row level security');
    await processEvents(env, m, S);
    expect((await alerts(env.admin, 'SEC_RLS_DISABLED'))[0]!.status).toBe('RESOLVED');
  });

  it('does not fire on normal DDL: a policy TO authenticated is journaled (INFO) but raises nothing; ADD COLUMN emits nothing', async () => {
    const m = await mark(env.admin);
    await env.admin.query('create policy prises_select_cadres on public.prises_de_hauteur for select to authenticated using (public.app_is_cadre())');
    await env.admin.query('alter table public.prises_de_hauteur add column vigie_test_note text');
    const res = await processEvents(env, m, S);
    expect(res.events).toBe(1);
    expect(res.findings).toEqual([]);
    const rows = await journal(env.admin, "kind = 'ddl_policy' and target_id = 'prises_select_cadres on public.prises_de_hauteur'");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ severity: 'INFO', check_codes: [], alert_ids: [] });
    const m2 = await mark(env.admin);
    await env.admin.query('drop policy prises_select_cadres on public.prises_de_hauteur');
    await env.admin.query('alter table public.prises_de_hauteur drop column vigie_test_note');
    expect((await processEvents(env, m2, S)).findings).toEqual([]);
  });

  it('never makes the DDL fail, even when capture itself fails', async () => {
    await env.admin.query("alter table vigie.outbox add constraint test_refuse_ddl check (kind <> 'ddl.policy_changed') not valid");
    try {
      await env.admin.query('create policy zz_probe on public.depots for select to authenticated using (false)');
      const { rows } = await env.admin.query("select 1 from pg_policy where polname = 'zz_probe'");
      expect(rows).toHaveLength(1);
      const failures = await env.admin.query("select trigger_name, sqlstate from vigie.trigger_failures where trigger_name = 'vigie_policy_ddl'");
      expect(failures.rows[0]).toMatchObject({ sqlstate: '23514' });
    } finally {
      await env.admin.query('alter table vigie.outbox drop constraint test_refuse_ddl');
      await env.admin.query('drop policy zz_probe on public.depots');
    }
  });
});

describe('SEC_ADMIN_NEW_ADDRESS (auth.audit_log_entries)', () => {
  it('fires when an admin signs in from an address never seen for them', async () => {
    const admin = await createUser(env.admin, 'admin', 'roaming');
    const m = await mark(env.admin);
    await authAudit(env.admin, { action: 'login', actorId: admin.userId, email: admin.email, ip: '198.51.100.10' });
    await authAudit(env.admin, { action: 'login', actorId: admin.userId, email: admin.email, ip: '198.51.100.10' });
    await authAudit(env.admin, { action: 'logout', actorId: admin.userId, email: admin.email, ip: '198.51.100.10' });
    const quiet = await processEvents(env, m, S);
    expect(quiet.events).toBe(3);
    expect(quiet.findings).toEqual([]);

    const m2 = await mark(env.admin);
    const auditId = await authAudit(env.admin, { action: 'login', actorId: admin.userId, email: admin.email, ip: '203.0.113.99' });
    const res = await processEvents(env, m2, S);
    expect(res.findings).toHaveLength(1);
    expect(res.findings[0]).toMatchObject({
      check_code: 'SEC_ADMIN_NEW_ADDRESS',
      severity: 'WARN',
      message: `Connexion de ${admin.email} (admin) depuis une adresse jamais vue pour ce compte : 203.0.113.99 (1 adresse connue)`,
    });
    expect(res.findings[0]!.payload).toMatchObject({ ip: '203.0.113.99', user: admin.userId });
    const rows = await journal(env.admin, 'source_key = $1', [`auth:${auditId}`]);
    expect(rows[0]).toMatchObject({ kind: 'auth_login', ip: '203.0.113.99', actor_role: 'admin', check_codes: ['SEC_ADMIN_NEW_ADDRESS'] });
  });

  it('does not fire for a non-admin from a new address', async () => {
    const g = await createUser(env.admin, 'gerant', 'travel');
    const m = await mark(env.admin);
    await authAudit(env.admin, { action: 'login', actorId: g.userId, email: g.email, ip: '198.51.100.20' });
    await authAudit(env.admin, { action: 'login', actorId: g.userId, email: g.email, ip: '198.51.100.21' });
    expect((await processEvents(env, m, S)).findings).toEqual([]);
  });

  it('journals sensitive Supabase Auth actions (INFO) and not routine ones', async () => {
    const admin = await createUser(env.admin, 'admin', 'hr');
    const gone = await createUser(env.admin, 'lecture', 'leaver');
    const m = await mark(env.admin);
    const del = await authAudit(env.admin, {
      action: 'user_deleted',
      actorId: admin.userId,
      email: admin.email,
      ip: '198.51.100.30',
      traits: { user_id: gone.userId, user_email: gone.email },
    });
    await authAudit(env.admin, { action: 'token_refreshed', actorId: admin.userId, email: admin.email, ip: '198.51.100.30' });
    const res = await processEvents(env, m, S);
    expect(res.journaled).toBe(1);
    const rows = await journal(env.admin, 'source_key = $1', [`auth:${del}`]);
    expect(rows[0]).toMatchObject({ kind: 'auth_user_deleted', severity: 'INFO', actor_user_id: admin.userId, target_type: 'USER', target_id: gone.userId, target_label: gone.email });
  });
});

describe('human actions on system_alerts', () => {
  it('journals an ACK made from the CLI with its actor', async () => {
    const u = await createUser(env.admin, 'pca', 'selfpromo');
    const reviewer = await createUser(env.admin, 'directeur', 'reviewer');
    let m = await mark(env.admin);
    await asUser(env.admin, u.userId, (c) => c.query("update public.profils set role = 'directeur' where user_id = auth.uid()"));
    await processEvents(env, m, S);
    const [alert] = (await alerts(env.admin, 'SEC_ROLE_CHANGED')).filter((a) => a.payload.user === u.userId);
    m = await mark(env.admin);
    await env.app.query("select * from vigie.act_on_alert($1, 'ACK', $2, 'je regarde')", [alert!.id, reviewer.userId]);
    await processEvents(env, m, S);
    const rows = await journal(env.admin, "kind = 'alert_acknowledged' and target_id = $1", [alert!.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_user_id: reviewer.userId, actor_email: reviewer.email, severity: 'INFO', source: 'system_alerts' });
    expect(rows[0]!.details).toMatchObject({ check_code: 'SEC_ROLE_CHANGED', origin: 'cli', note: 'je regarde', self_review: false });
  });
});

describe('securitySweep', () => {
  it('catches what the event path missed and what happened without the event trigger, then resolves it', async () => {
    const u = await createUser(env.admin, 'lecture', 'missed');
    await asUser(env.admin, u.userId, (c) => c.query("update public.profils set role = 'gerant' where user_id = auth.uid()"));
    await env.admin.query('alter event trigger vigie_policy_ddl disable');
    try {
      await env.admin.query('create policy "read stocks_journaliers" on public.stocks_journaliers for select to public using (true)');
    } finally {
      await env.admin.query('alter event trigger vigie_policy_ddl enable');
    }
    const first = await securitySweep(env.app, S);
    expect(first.findings.filter((f) => f.payload.user === u.userId).map((f) => f.check_code)).toEqual(['SEC_ROLE_CHANGED']);
    const [policy] = (await alerts(env.admin, 'SEC_RLS_PUBLIC_POLICY')).filter((a) => a.status === 'OPEN');
    expect(policy!.message).toContain('« read stocks_journaliers »');
    const swept = await journal(env.admin, "kind = 'rls_exposure' and $1 = any(alert_ids::text[])", [policy!.id]);
    expect(swept).toHaveLength(1);
    expect(swept[0]!.source).toBe('sweep');
    expect(await journal(env.admin, "kind = 'role_changed' and actor_user_id = $1", [u.userId])).toHaveLength(1);

    // A second sweep adds nothing; dropping the policy resolves it at the next one.
    const second = await securitySweep(env.app, S);
    expect(second.journaled).toBe(0);
    await env.admin.query('alter event trigger vigie_policy_ddl disable');
    try {
      await env.admin.query('drop policy "read stocks_journaliers" on public.stocks_journaliers');
    } finally {
      await env.admin.query('alter event trigger vigie_policy_ddl enable');
    }
    await securitySweep(env.app, S);
    expect((await alerts(env.admin, 'SEC_RLS_PUBLIC_POLICY')).find((a) => a.id === policy!.id)!.status).toBe('RESOLVED');
  });
});
