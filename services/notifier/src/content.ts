import type { AlertView, Fact, Lang, Severity } from '@vigie/channels';
import type pg from 'pg';
import type { NotifierCore } from './core.js';
import { texts } from './texts.js';
import { TRANSITION_COLUMNS, type TransitionRow, alertView } from './view.js';

/**
 * What a ledger row sends, built at delivery time from Postgres (transition
 * snapshots, storm group members): the same content on every retry.
 */

export async function loadTransition(client: pg.ClientBase | pg.Pool, id: number): Promise<TransitionRow | null> {
  const { rows } = await client.query<TransitionRow>(`select ${TRANSITION_COLUMNS} from vigie.alert_transitions where id = $1`, [id]);
  return rows[0] ?? null;
}

/** Display names of actors (profils.nom_complet, else email), through Vigie's SECURITY DEFINER function. */
export async function actorNames(client: pg.ClientBase | pg.Pool, ids: ReadonlyArray<string | null>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((i): i is string => !!i))];
  if (wanted.length === 0) return new Map();
  const { rows } = await client.query<{ user_id: string; name: string | null }>('select user_id, name from vigie.notifier_actor_names($1::uuid[])', [wanted]);
  return new Map(rows.filter((r) => r.name).map((r) => [r.user_id, r.name as string]));
}

/** Who acted, as people read it: a name, "the CLI", or null (automatic). */
export function actorLabel(actor: string | null, origin: string, names: Map<string, string>, lang: Lang): string | null {
  if (actor) return names.get(actor) ?? `${actor.slice(0, 8)}…`;
  if (origin === 'cli') return texts[lang].cli;
  return null;
}

/**
 * The alert as of transition `t`: its status then, the last detection of the
 * cycle, who acknowledged / resolved it, and the notes the notifier adds
 * (flapping, reminder).
 */
export async function viewOfTransition(
  core: NotifierCore,
  client: pg.ClientBase,
  t: TransitionRow,
  extra: { flapping?: number | undefined; extraFacts?: Fact[] } = {},
): Promise<AlertView> {
  const { lang } = core.opts;
  const { rows } = await client.query<{ detected_at: Date | null; ack_actor: string | null; ack_origin: string | null; ack_at: Date | null }>(
    `select o.at as detected_at, a.actor as ack_actor, a.origin as ack_origin, a.at as ack_at
       from (select 1) x
       left join lateral (select at, id from vigie.alert_transitions
                           where alert_id = $1 and id <= $2 and kind in ('opened', 'reopened') order by id desc limit 1) o on true
       left join lateral (select actor, origin, at from vigie.alert_transitions
                           where alert_id = $1 and id <= $2 and id > coalesce(o.id, 0) and kind = 'acknowledged' order by id desc limit 1) a on true`,
    [t.alert_id, t.id],
  );
  const ctx = rows[0];
  const names = await actorNames(client, [t.actor, ctx?.ack_actor ?? null]);
  const facts: Fact[] = [...(extra.extraFacts ?? [])];
  if (extra.flapping) {
    facts.push({ label: texts[lang].flapping, value: texts[lang].flappingValue(extra.flapping, core.policy.policy.flapWindowMinutes) });
  }
  return alertView(t, {
    lang,
    family: core.policy.familyOf(t.check_code, t.payload),
    link: core.opts.link,
    lastDetectedAt: ctx?.detected_at ?? undefined,
    acknowledged:
      t.kind === 'acknowledged'
        ? { by: actorLabel(t.actor, t.origin, names, lang), at: t.at }
        : ctx?.ack_at
          ? { by: actorLabel(ctx.ack_actor, ctx.ack_origin ?? 'other', names, lang), at: ctx.ack_at }
          : undefined,
    resolved: t.kind === 'resolved' ? { by: actorLabel(t.actor, t.origin, names, lang), at: t.at } : undefined,
    extraFacts: facts,
  });
}

/** The place of an alert in a list: `TANK1 (Dépôt Daipn)`, `jdoe (10.0.0.7)`, else the entity. */
export function placeOf(v: AlertView): string {
  const { depot, citerne, user, ip } = v.where;
  if (v.family === 'security' && (user || ip)) return user ? (ip ? `${user} (${ip})` : user) : (ip as string);
  if (citerne) return depot ? `${citerne} (${depot})` : citerne;
  if (user) return ip ? `${user} (${ip})` : user;
  if (depot) return depot;
  return `${v.entityType} ${v.entityId.slice(0, 8)}`;
}

const MAX_PLACES = 15;

/**
 * One message standing for a storm's held alerts. @vigie/channels has no
 * group message, so the group is shown as an alert of its own: same rule,
 * the worst severity, the places in the message, the count in the facts.
 */
/** Where a grouped message's alerts stand (from the notifier's own state of each alert). */
export interface GroupState {
  open: number;
  ack: number;
  resolved: number;
  /** Who resolved them, as people read it: a name, "N personnes", or null (all automatic). */
  resolvedBy: string | null;
}

export function groupView(core: NotifierCore, groupId: number, members: AlertView[], windowS: number, state?: GroupState): AlertView {
  const t = texts[core.opts.lang];
  const first = members[0];
  if (!first) throw new Error(`groupe ${groupId} sans membre`);
  const severity: Severity = members.some((m) => m.severity === 'CRITICAL') ? 'CRITICAL' : 'WARN';
  const places = [...new Set(members.map(placeOf))];
  const depots = new Set(members.map((m) => m.where.depot ?? ''));
  const commonDepot = depots.size === 1 ? [...depots][0] : undefined;
  const times = members.map((m) => m.firstDetectedAt.getTime());
  const firstAt = new Date(Math.min(...times));
  const lastAt = new Date(Math.max(...members.map((m) => m.lastDetectedAt.getTime())));
  const when = (d: Date) => new Intl.DateTimeFormat(core.opts.lang === 'fr' ? 'fr-FR' : 'en-GB', { timeZone: core.opts.timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
  return {
    alertId: `groupe-${groupId}`,
    checkCode: first.checkCode,
    severity,
    family: first.family,
    entityType: t.alerts(members.length),
    entityId: `(${core.opts.lang === 'fr' ? 'groupe' : 'group'} ${groupId})`,
    title: t.stormTitle(members.length, windowS),
    message: t.stormMessage(members.length, first.checkCode, places.slice(0, MAX_PLACES), Math.max(0, places.length - MAX_PLACES)),
    // No place of its own: subjects and headings then read "199 alertes (groupe 12)".
    where: {},
    facts: [
      { label: t.stormCount, value: String(members.length) },
      ...(commonDepot ? [{ label: core.opts.lang === 'fr' ? 'Dépôt' : 'Depot', value: commonDepot }] : []),
      { label: t.stormFirst, value: when(firstAt) },
      { label: t.stormLast, value: when(lastAt) },
      ...(state ? [{ label: t.stormState, value: t.stormStateValue(state.open, state.ack, state.resolved) }] : []),
    ],
    // The group reads as its least advanced alert: open while one is open, resolved once all are.
    status: !state || state.open > 0 ? 'OPEN' : state.ack > 0 ? 'ACK' : 'RESOLVED',
    ...(state && state.open === 0 && state.ack === 0 ? { resolvedBy: state.resolvedBy } : {}),
    firstDetectedAt: firstAt,
    lastDetectedAt: lastAt,
    link: core.opts.link,
  };
}

/** The held alerts of a storm group (the ones its grouped message stands for). */
const HELD_MEMBERS = `select nt.alert_id from vigie.notify_transitions nt where nt.group_id = $1 and nt.decision = 'held'`;

/** Where a group's held alerts stand now, and who resolved them. */
export async function groupState(core: NotifierCore, client: pg.ClientBase, groupId: number): Promise<GroupState> {
  const { rows } = await client.query<{ status: string; n: number }>(
    `select a.status, count(*)::int as n from vigie.notify_alerts a where a.alert_id in (${HELD_MEMBERS}) group by 1`,
    [groupId],
  );
  const count = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
  const state: GroupState = { open: count('OPEN'), ack: count('ACK'), resolved: count('RESOLVED'), resolvedBy: null };
  if (state.open === 0 && state.ack === 0) {
    const { rows: last } = await client.query<{ actor: string | null; origin: string }>(
      `select distinct on (t.alert_id) t.actor, t.origin from vigie.alert_transitions t
        where t.alert_id in (${HELD_MEMBERS}) and t.kind = 'resolved' order by t.alert_id, t.id desc`,
      [groupId],
    );
    const names = await actorNames(client, last.map((r) => r.actor));
    const people = new Set(last.map((r) => actorLabel(r.actor, r.origin, names, core.opts.lang)).filter((l): l is string => l !== null));
    state.resolvedBy = people.size === 0 ? null : people.size === 1 ? [...people][0]! : texts[core.opts.lang].severalPeople(people.size);
  }
  return state;
}
