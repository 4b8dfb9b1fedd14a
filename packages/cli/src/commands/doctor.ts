import { createEmailChannel, createSlackChannel } from '@vigie/channels';
import { migrationStatus, migrationsDir, readMigrations } from '@vigie/db';
import { type Command } from '../context.js';

type Level = 'ok' | 'warn' | 'fail';
interface CheckLine {
  level: Level;
  what: string;
  detail: string;
  fix?: string;
}

/** Tables Vigie's capture triggers must be on (infra/vigie/migrations/0001). */
const CAPTURED = [
  'public.receptions',
  'public.sorties_produit',
  'public.stocks_adjustments',
  'public.cours_de_route',
  'public.citernes',
  'public.profils',
  'public.log_actions',
  'auth.audit_log_entries',
  'public.system_alerts',
];

const ICON: Record<Level, string> = { ok: '✓', warn: '⚠', fail: '✗' };

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'vérifie une base et un environnement cibles et dit quoi corriger',
  usage: 'vigie doctor',
  async run(_argv, ctx) {
    const cfg = ctx.config();
    const lines: CheckLine[] = [];
    const env = ctx.env;

    // Connections: LISTEN needs a direct session, never the transaction pooler.
    const listenUrl = env.LISTEN_DATABASE_URL || cfg.DATABASE_URL;
    const port = new URL(listenUrl).port || '5432';
    lines.push(
      port === '6543'
        ? {
            level: 'fail',
            what: 'connexion LISTEN',
            detail: `port ${port} : pooler transactionnel Supabase, LISTEN impossible`,
            fix: 'LISTEN_DATABASE_URL=<connexion directe, port 5432>',
          }
        : { level: 'ok', what: 'connexion LISTEN', detail: `port ${port} (session directe)` },
    );

    const client = await ctx.db();
    const server = await client.query<{ v: string; tz: string; su: boolean }>(
      "select current_setting('server_version') as v, current_setting('TimeZone') as tz, (select rolsuper from pg_roles where rolname = current_user) as su",
    );
    const version = server.rows[0]?.v ?? '?';
    const major = Number.parseInt(version, 10);
    lines.push({
      level: major >= 15 ? 'ok' : 'fail',
      what: 'PostgreSQL',
      detail: version,
      ...(major >= 15 ? {} : { fix: 'Vigie demande PostgreSQL 15 ou plus' }),
    });

    // Migrations.
    for (const set of ['reference', 'vigie'] as const) {
      const st = await migrationStatus(client, set, readMigrations(migrationsDir(set)));
      if (set === 'reference' && st.applied.length === 0) continue; // ML_PP's real DB: no reference set
      const label = set === 'vigie' ? 'migrations Vigie' : 'migrations de la base de référence';
      if (st.edited.length) lines.push({ level: 'fail', what: label, detail: `modifiées après application : ${st.edited.join(', ')}`, fix: 'remettre les fichiers tels qu’appliqués' });
      else if (st.pending.length) lines.push({ level: 'fail', what: label, detail: `${st.pending.length} en attente (${st.pending[0]}…)`, fix: 'vigie migrate' });
      else lines.push({ level: 'ok', what: label, detail: `${st.applied.length} appliquées` });
      if (st.unknownApplied.length) lines.push({ level: 'warn', what: label, detail: `appliquées mais inconnues de cette version : ${st.unknownApplied.join(', ')} (version plus récente ?)` });
    }

    // Capture triggers.
    const trig = await client.query<{ tbl: string; n: number; disabled: number }>(
      `select (n.nspname || '.' || c.relname) as tbl, count(*)::int as n, count(*) filter (where t.tgenabled = 'D')::int as disabled
         from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
        where t.tgname like 'zz_vigie_%' and not t.tgisinternal group by 1`,
    );
    const byTable = new Map(trig.rows.map((r) => [r.tbl, r]));
    const missing = CAPTURED.filter((t) => !byTable.has(t));
    const disabled = trig.rows.filter((r) => r.disabled > 0).map((r) => r.tbl);
    if (missing.length) lines.push({ level: 'fail', what: 'déclencheurs de capture', detail: `absents sur ${missing.join(', ')}`, fix: 'vigie migrate' });
    else if (disabled.length) lines.push({ level: 'fail', what: 'déclencheurs de capture', detail: `désactivés sur ${disabled.join(', ')}`, fix: 'ALTER TABLE … ENABLE TRIGGER zz_vigie_…' });
    else lines.push({ level: 'ok', what: 'déclencheurs de capture', detail: `${CAPTURED.length} tables surveillées` });

    const failures = await client
      .query<{ n: number }>("select count(*)::int as n from vigie.trigger_failures where acknowledged_at is null and at > now() - interval '7 days'")
      .catch(() => ({ rows: [{ n: 0 }] }));
    const nf = failures.rows[0]?.n ?? 0;
    lines.push(
      nf > 0
        ? { level: 'warn', what: 'échecs de capture', detail: `${nf} non acquittés sur 7 jours (vigie.trigger_failures)`, fix: 'voir docs/runbooks/capture.md' }
        : { level: 'ok', what: 'échecs de capture', detail: 'aucun' },
    );

    // ML_PP's own manual sync must not be scheduled alongside Vigie.
    // pg_cron may be absent: cron.job is only queried once it is known to exist.
    const hasCron = (await client.query<{ ok: boolean }>("select to_regclass('cron.job') is not null as ok")).rows[0]?.ok;
    const scheduled = hasCron
      ? ((await client.query<{ n: number }>("select count(*)::int as n from cron.job where command ilike '%sync_system_alerts_from_integrity%'")).rows[0]?.n ?? 0)
      : 0;
    lines.push(
      scheduled > 0
        ? {
            level: 'warn',
            what: 'synchronisation V1 de ML_PP',
            detail: 'sync_system_alerts_from_integrity est planifiée (pg_cron) : elle résout les alertes de Vigie qu’elle ne connaît pas',
            fix: "SELECT cron.unschedule(jobid) FROM cron.job WHERE command ILIKE '%sync_system_alerts_from_integrity%'",
          }
        : { level: 'ok', what: 'synchronisation V1 de ML_PP', detail: 'non planifiée' },
    );

    // Time zone: the depot's dates (date_jour) follow the DB's TimeZone.
    const dbTz = server.rows[0]?.tz ?? '?';
    lines.push(
      dbTz === cfg.VIGIE_TZ
        ? { level: 'ok', what: 'fuseau horaire', detail: `${dbTz} (base) = VIGIE_TZ` }
        : {
            level: 'warn',
            what: 'fuseau horaire',
            detail: `base en ${dbTz}, VIGIE_TZ=${cfg.VIGIE_TZ} : date_jour de ML_PP suit le fuseau de la base`,
            fix: 'vérifier que les dates de journée attendues correspondent',
          },
    );

    // Delivery channels.
    if (env.SLACK_BOT_TOKEN) {
      try {
        const slack = createSlackChannel({ token: env.SLACK_BOT_TOKEN, ...(env.SLACK_API_URL ? { apiUrl: env.SLACK_API_URL } : {}), timeoutMs: 5_000 });
        const who = await slack.verify();
        lines.push({ level: 'ok', what: 'Slack', detail: `jeton valide (espace ${who.team})` });
      } catch (err) {
        lines.push({ level: 'fail', what: 'Slack', detail: (err as Error).message, fix: 'vérifier SLACK_BOT_TOKEN et SLACK_API_URL' });
      }
    } else lines.push({ level: 'warn', what: 'Slack', detail: 'SLACK_BOT_TOKEN absent : messages vers le puits local' });
    if (env.SMTP_URL) {
      const mail = createEmailChannel({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM || 'vigie@localhost', pool: false, timeoutMs: 5_000 });
      try {
        await mail.verify();
        lines.push({ level: 'ok', what: 'SMTP', detail: 'serveur joignable' });
      } catch (err) {
        lines.push({ level: 'fail', what: 'SMTP', detail: (err as Error).message, fix: 'vérifier SMTP_URL' });
      } finally {
        mail.close();
      }
    } else lines.push({ level: 'warn', what: 'SMTP', detail: 'SMTP_URL absent : e-mails vers le puits local' });

    ctx.out(`vigie doctor — ${cfg.APP_ENV}, release ${cfg.APP_RELEASE}`);
    for (const l of lines) {
      ctx.out(`${ICON[l.level]} ${l.what} : ${l.detail}`);
      if (l.fix) ctx.out(`    → ${l.fix}`);
    }
    const fails = lines.filter((l) => l.level === 'fail').length;
    const warns = lines.filter((l) => l.level === 'warn').length;
    ctx.out(fails ? `${fails} problème(s) à corriger, ${warns} avertissement(s).` : `Rien de bloquant (${warns} avertissement(s)).`);
    return fails ? 1 : 0;
  },
};
