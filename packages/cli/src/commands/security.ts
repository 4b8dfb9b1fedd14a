import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../context.js';
import { renderTable } from '../table.js';

const SEVERITIES = ['INFO', 'WARN', 'CRITICAL'] as const;

/** `24h`, `7d`, `30m` → that long ago; otherwise an ISO date or date-time. */
export function parseSince(value: string, now = new Date()): Date {
  const m = /^(\d{1,5})\s*(m|min|h|d|j)$/i.exec(value.trim());
  if (m) {
    const n = Number(m[1]);
    const unit = (m[2] ?? 'h').toLowerCase();
    const ms = unit === 'd' || unit === 'j' ? n * 86_400_000 : unit === 'h' ? n * 3_600_000 : n * 60_000;
    return new Date(now.getTime() - ms);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const d = new Date(value.trim());
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new UsageError(`durée ou date illisible : « ${value} » (ex. 24h, 7d, 30m, 2026-04-17 ou 2026-04-17T08:00:00Z)`);
}

interface JournalRow {
  id: string;
  at: Date;
  kind: string;
  severity: string;
  actor_user_id: string | null;
  actor_email: string | null;
  actor_role: string | null;
  ip: string | null;
  user_agent: string | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  details: Record<string, unknown>;
  check_codes: string[];
  alert_ids: string[];
  source: string;
  source_key: string;
}

const cut = (s: string | null | undefined, n: number) => (s == null ? null : s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** `vigie security journal`: the suspicious-access journal (vigie.security_journal), newest first. */
export const securityCommand: Command = {
  name: 'security',
  summary: 'journal des accès suspects : security journal [--since 24h|ISO] [--kind …] [--actor …] [--json]',
  usage:
    'vigie security journal [--since 24h|7d|ISO] [--until ISO] [--kind login_failed,role_changed,…] [--actor <uuid ou e-mail>] [--ip <adresse>] [--severity INFO|WARN|CRITICAL] [--limit 200] [--json]',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub !== 'journal') throw new UsageError('sous-commande attendue : journal');
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        kind: { type: 'string' },
        actor: { type: 'string' },
        ip: { type: 'string' },
        severity: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new UsageError(`argument inattendu : ${positionals[0]}`);
    const since = parseSince(values.since ?? '24h');
    const until = values.until ? parseSince(values.until) : null;
    const kinds = values.kind ? values.kind.split(',').map((k) => k.trim()).filter(Boolean) : null;
    if (kinds?.some((k) => !/^[a-z][a-z0-9_]{1,62}$/.test(k))) throw new UsageError('--kind : types en minuscules séparés par des virgules (ex. login_failed,role_changed)');
    const severity = values.severity?.toUpperCase() ?? null;
    if (severity && !(SEVERITIES as readonly string[]).includes(severity)) throw new UsageError('--severity : INFO, WARN ou CRITICAL (et plus grave)');
    const limit = values.limit ? Number(values.limit) : 200;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit : un entier entre 1 et 10000');
    const actor = values.actor?.trim() || null;
    const cfg = ctx.config();
    const en = cfg.VIGIE_LANG === 'en';
    const client = await ctx.db();
    const { rows } = await client.query<JournalRow>(
      `select id::text, at, kind, severity, actor_user_id, actor_email, actor_role, host(ip) as ip, user_agent,
              target_type, target_id, target_label, details, check_codes, alert_ids::text[] as alert_ids, source, source_key
         from vigie.security_journal
        where at >= $1
          and ($2::timestamptz is null or at < $2)
          and ($3::text[] is null or kind = any ($3))
          and ($4::text is null or actor_user_id::text = lower($4) or lower(actor_email) = lower($4))
          and ($5::text is null or host(ip) = $5)
          and ($6::text is null or array_position(array['INFO', 'WARN', 'CRITICAL'], severity) >= array_position(array['INFO', 'WARN', 'CRITICAL'], $6))
        order by at desc, id desc
        limit $7`,
      [since, until, kinds, actor, values.ip ?? null, severity, limit],
    );
    if (values.json) {
      ctx.out(JSON.stringify(rows.map((r) => ({ ...r, at: r.at.toISOString() })), null, 2));
      return 0;
    }
    const fmt = new Intl.DateTimeFormat('sv-SE', {
      timeZone: cfg.VIGIE_TZ,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    const from = fmt.format(since);
    if (rows.length === 0) {
      ctx.out(en ? `No suspicious access since ${from} (${cfg.VIGIE_TZ}).` : `Aucun accès suspect depuis le ${from} (${cfg.VIGIE_TZ}).`);
      return 0;
    }
    ctx.out(
      renderTable(
        en
          ? [`When (${cfg.VIGIE_TZ})`, 'Kind', 'Severity', 'Actor', 'Role', 'Address', 'Target', 'Alerts']
          : [`Quand (${cfg.VIGIE_TZ})`, 'Type', 'Gravité', 'Acteur', 'Rôle', 'Adresse', 'Cible', 'Alertes'],
        rows.map((r) => [
          fmt.format(r.at),
          r.kind,
          r.severity,
          cut(r.actor_email ?? r.actor_user_id ?? (typeof r.details.db_user === 'string' ? `${r.details.db_user} (SQL)` : null), 40),
          r.actor_role,
          r.ip,
          cut(r.target_label ?? r.target_id, 48),
          r.check_codes.join(', ') || null,
        ]),
      ),
    );
    const more = rows.length === limit;
    ctx.out('');
    ctx.out(
      en
        ? `${rows.length} event(s) since ${from}${more ? ` (limited to ${limit}: narrow with --since, --kind or --actor, or raise --limit)` : ''}.`
        : `${rows.length} évènement(s) depuis le ${from}${more ? ` (limité à ${limit} : affinez avec --since, --kind ou --actor, ou augmentez --limit)` : ''}.`,
    );
    return 0;
  },
};
