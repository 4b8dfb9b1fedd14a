import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../context.js';
import { renderTable } from '../table.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `vigie alerts list|ack|resolve`: the system_alerts workflow, with who acted recorded. */
export const alertsCommand: Command = {
  name: 'alerts',
  summary: 'alertes d’intégrité : list, ack <id> --by <utilisateur>, resolve <id> --by <utilisateur>',
  usage: 'vigie alerts list [--all] [--json] | vigie alerts ack|resolve <id> --by <uuid ou e-mail> [--note "…"]',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    const en = ctx.env.VIGIE_LANG === 'en';
    if (sub === 'list') {
      const { values, positionals } = parseArgs({ args: rest, options: { all: { type: 'boolean' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
      if (positionals.length) throw new UsageError(`argument inattendu : ${positionals[0]}`);
      ctx.config();
      const client = await ctx.db();
      const { rows } = await client.query<{
        id: string; check_code: string; severity: string; status: string; message: string; payload: Record<string, unknown>;
        first_detected_at: Date; last_detected_at: Date; acknowledged_by: string | null; resolved_by: string | null;
      }>('select * from vigie.list_alerts($1::text[], 500)', [values.all ? null : ['OPEN', 'ACK']]);
      if (values.json) {
        ctx.out(JSON.stringify(rows, null, 2));
        return 0;
      }
      if (rows.length === 0) {
        ctx.out(en ? 'No alert.' : 'Aucune alerte.');
        return 0;
      }
      const msg = (r: (typeof rows)[number]) => String((en ? r.payload.message_en : r.payload.message_fr) ?? r.message);
      ctx.out(
        renderTable(
          en ? ['Id', 'Severity', 'Status', 'Rule', 'Since', 'Message'] : ['Id', 'Sévérité', 'Statut', 'Règle', 'Depuis', 'Message'],
          rows.map((r) => [r.id, r.severity, r.status, r.check_code, r.first_detected_at.toISOString().slice(0, 16).replace('T', ' '), msg(r)]),
        ),
      );
      return 0;
    }
    if (sub === 'ack' || sub === 'resolve') {
      const { values, positionals } = parseArgs({ args: rest, options: { by: { type: 'string' }, note: { type: 'string' } }, allowPositionals: true, strict: true });
      const id = positionals[0];
      if (!id || !UUID.test(id)) throw new UsageError('identifiant d’alerte attendu (uuid, voir vigie alerts list)');
      if (!values.by) throw new UsageError('--by <uuid ou e-mail de l’utilisateur> est requis : qui agit est enregistré');
      ctx.config();
      const client = await ctx.db();
      const who = await client.query<{ actor: string | null }>('select vigie.resolve_actor($1) as actor', [values.by]);
      const actor = who.rows[0]?.actor;
      if (!actor) {
        ctx.err(en ? `vigie alerts: unknown user "${values.by}" (profils / auth.users).` : `vigie alerts : utilisateur « ${values.by} » inconnu (profils / auth.users).`);
        return 1;
      }
      const res = await client
        .query<{ id: string; status: string }>('select * from vigie.act_on_alert($1::uuid, $2, $3::uuid, $4)', [
          id,
          sub === 'ack' ? 'ACK' : 'RESOLVE',
          actor,
          values.note ?? null,
        ])
        .catch((err: { code?: string; message?: string }) => {
          if (err.code !== '42501') throw err;
          return { rows: [], refused: String(err.message).replace(/^VIGIE_ACTOR_NOT_ALLOWED: /, '') };
        });
      if ('refused' in res) {
        ctx.err(
          en
            ? `vigie alerts: refused — only admin and directeur may ${sub} an alert (ML_PP governance).`
            : `vigie alerts : refusé — ${res.refused}.`,
        );
        return 1;
      }
      if (!res.rows[0]) {
        ctx.err(
          en
            ? `vigie alerts: alert ${id} not found or not in a state allowing ${sub} (ack: OPEN; resolve: OPEN or ACK).`
            : `vigie alerts : alerte ${id} introuvable ou déjà dans un état qui ne permet pas ${sub} (ack : OPEN ; resolve : OPEN ou ACK).`,
        );
        return 1;
      }
      // Who acted, as typed (an e-mail) and as recorded (the user id).
      const by = values.by === actor ? actor : `${values.by}, ${actor}`;
      ctx.out(en ? `Alert ${id}: ${res.rows[0].status} (by ${by}).` : `Alerte ${id} : ${res.rows[0].status} (par ${by}).`);
      return 0;
    }
    throw new UsageError('sous-commande attendue : list, ack ou resolve');
  },
};
