import { parseArgs } from 'node:util';
import { type Command, type CommandContext, UsageError } from '../context.js';
import { renderTable } from '../table.js';

/**
 * `vigie silence`: maintenance windows for the notifier (vigie.silences).
 * A silence matches by rule code, by entity, or both; silenced alerts are
 * still recorded (ML_PP's screen, transitions, the delivery ledger), only
 * their messages are held back; an alert still OPEN when the silence ends or
 * is removed gets its message then.
 */

const MAX_MS = 30 * 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RULE = /^[A-Z0-9_]{2,60}$/;

/** `2h`, `30m`, `1h30m`, `90min`, `1d`, `2j` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)\s*[dj])?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$/i.exec(text.trim());
  if (!m || (!m[1] && !m[2] && !m[3])) throw new UsageError(`durée invalide « ${text} » (exemples : 30m, 2h, 1h30m, 1d)`);
  const ms = (Number(m[1] ?? 0) * 24 * 60 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 60_000;
  if (ms <= 0) throw new UsageError('la durée doit être positive');
  if (ms > MAX_MS) throw new UsageError('un silence dure au plus 30 jours (--for 30d)');
  return ms;
}

interface SilenceRow {
  id: number;
  check_code: string | null;
  entity_id: string | null;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  created_by: string;
  removed_at: Date | null;
  removed_by: string | null;
}

function words(en: boolean) {
  return en
    ? {
        created: (id: number) => `Silence #${id} created`,
        rule: 'rule',
        entity: 'entity',
        until: 'until',
        reason: 'reason',
        recorded: 'Matching alerts are still recorded; their messages go out when the silence ends if they are still open.',
        none: 'No active silence.',
        headers: ['Id', 'Rule', 'Entity', 'Until', 'Reason', 'By', 'State'],
        active: 'active',
        ended: 'ended',
        removed: (by: string | null) => `removed${by ? ` by ${by}` : ''}`,
        lifted: (id: number) => `Silence #${id} removed: messages resume for the alerts it covered.`,
        notFound: (id: number) => `no active silence #${id} (vigie silence list)`,
      }
    : {
        created: (id: number) => `Silence n° ${id} créé`,
        rule: 'règle',
        entity: 'entité',
        until: "jusqu'au",
        reason: 'raison',
        recorded: 'Les alertes concernées restent enregistrées ; leurs messages partent à la fin du silence si elles sont encore ouvertes.',
        none: 'Aucun silence actif.',
        headers: ['N°', 'Règle', 'Entité', "Jusqu'au", 'Raison', 'Par', 'État'],
        active: 'actif',
        ended: 'terminé',
        removed: (by: string | null) => `levé${by ? ` par ${by}` : ''}`,
        lifted: (id: number) => `Silence n° ${id} levé : les messages reprennent pour les alertes qu'il couvrait.`,
        notFound: (id: number) => `aucun silence actif n° ${id} (vigie silence list)`,
      };
}

function when(d: Date, tz: string, en: boolean): string {
  const s = new Intl.DateTimeFormat(en ? 'en-GB' : 'fr-FR', { timeZone: tz, dateStyle: 'short', timeStyle: 'short' }).format(d);
  return `${s} (${tz})`;
}

async function add(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { rule: { type: 'string' }, entity: { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`argument inattendu : ${positionals.join(' ')}`);
  const rule = values.rule?.trim().toUpperCase();
  const entity = values.entity?.trim().toLowerCase();
  if (!rule && !entity) throw new UsageError('--rule CODE et/ou --entity UUID requis');
  if (rule && !RULE.test(rule)) throw new UsageError(`code de règle invalide : ${values.rule} (ex. STOCK_NEGATIF)`);
  if (entity && !UUID.test(entity)) throw new UsageError(`--entity attend l'UUID de l'entité (system_alerts.entity_id) : ${values.entity}`);
  if (!values.for) throw new UsageError('--for DURÉE requis (ex. --for 2h)');
  const ms = parseDuration(values.for);
  const reason = values.reason?.trim();
  if (!reason) throw new UsageError('--reason "…" requis : pourquoi ce silence (maintenance, étalonnage…)');
  const by = values.by?.trim() || ctx.env.USER || 'cli';
  const cfg = ctx.config();
  const en = cfg.VIGIE_LANG === 'en';
  const client = await ctx.db();
  const { rows } = await client.query<SilenceRow>(
    `insert into vigie.silences (check_code, entity_id, ends_at, reason, created_by)
     values ($1, $2, clock_timestamp() + make_interval(secs => $3), $4, $5) returning *`,
    [rule ?? null, entity ?? null, ms / 1000, reason, by],
  );
  const s = rows[0];
  if (!s) throw new Error('silence non créé');
  const w = words(en);
  ctx.out(
    `${w.created(s.id)} : ${w.rule} ${s.check_code ?? '—'}, ${w.entity} ${s.entity_id ?? '—'}, ${w.until} ${when(s.ends_at, cfg.VIGIE_TZ, en)} — ${w.reason} : ${s.reason}`,
  );
  ctx.out(w.recorded);
  return 0;
}

async function list(argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { all: { type: 'boolean' } }, strict: true });
  const cfg = ctx.config();
  const en = cfg.VIGIE_LANG === 'en';
  const w = words(en);
  const client = await ctx.db();
  const { rows } = await client.query<SilenceRow & { active: boolean }>(
    `select *, (removed_at is null and ends_at > clock_timestamp()) as active from vigie.silences
      where ($1 and created_at > now() - interval '7 days') or (removed_at is null and ends_at > clock_timestamp())
      order by ends_at, id`,
    [values.all === true],
  );
  if (rows.length === 0) {
    ctx.out(w.none);
    return 0;
  }
  ctx.out(
    renderTable(
      w.headers,
      rows.map((r) => [
        r.id,
        r.check_code ?? '—',
        r.entity_id ?? '—',
        when(r.ends_at, cfg.VIGIE_TZ, en),
        r.reason,
        r.created_by,
        r.active ? w.active : r.removed_at ? w.removed(r.removed_by) : w.ended,
      ]),
    ),
  );
  return 0;
}

async function remove(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { by: { type: 'string' } }, strict: true, allowPositionals: true });
  const id = Number(positionals[0]);
  if (positionals.length !== 1 || !Number.isSafeInteger(id) || id <= 0) throw new UsageError('vigie silence remove ID (le numéro affiché par vigie silence list)');
  const cfg = ctx.config();
  const w = words(cfg.VIGIE_LANG === 'en');
  const client = await ctx.db();
  const { rowCount } = await client.query(
    'update vigie.silences set removed_at = clock_timestamp(), removed_by = $2 where id = $1 and removed_at is null and ends_at > clock_timestamp()',
    [id, values.by?.trim() || ctx.env.USER || 'cli'],
  );
  if (!rowCount) {
    ctx.err(`vigie silence remove : ${w.notFound(id)}`);
    return 1;
  }
  ctx.out(w.lifted(id));
  return 0;
}

export const silenceCommand: Command = {
  name: 'silence',
  summary: 'silences de maintenance : les alertes restent enregistrées, leurs messages attendent',
  usage: 'vigie silence add --rule CODE [--entity UUID] --for 2h --reason "…" [--by NOM] | vigie silence list [--all] | vigie silence remove ID',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'add':
        return add(rest, ctx);
      case 'list':
      case 'ls':
        return list(rest, ctx);
      case 'remove':
      case 'rm':
        return remove(rest, ctx);
      default:
        throw new UsageError(sub ? `sous-commande inconnue « ${sub} » (add, list, remove)` : 'sous-commande requise : add, list ou remove');
    }
  },
};
