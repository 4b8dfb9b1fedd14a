import { parseArgs } from 'node:util';
import { sweep, thresholdsFromEnv } from '@vigie/rules';
import { type Command, UsageError } from '../context.js';
import { renderTable } from '../table.js';

/**
 * `vigie sweep`: every integrity rule over the whole database once, alerts
 * reconciled (OPEN / still open / auto-resolved), a readable table.
 * Exit code: 0 no CRITICAL finding, 1 CRITICAL findings (or failure), 2 usage.
 */
export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'vérifie une fois toutes les règles d’intégrité et met system_alerts à jour (code 1 si CRITICAL)',
  usage: 'vigie sweep [--full] [--json]',
  async run(argv, ctx) {
    const { values, positionals } = parseArgs({ args: argv, options: { full: { type: 'boolean' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length) throw new UsageError(`argument inattendu : ${positionals[0]}`);
    const cfg = ctx.config();
    const en = cfg.VIGIE_LANG === 'en';
    let thresholds: ReturnType<typeof thresholdsFromEnv>;
    try {
      thresholds = thresholdsFromEnv(ctx.env);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const client = await ctx.db();
    const lock = await client.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext('vigie:sweep')) as ok");
    if (!lock.rows[0]?.ok) {
      ctx.err(en ? 'vigie sweep: another sweep is running, try again shortly.' : 'vigie sweep : un autre balayage est en cours, réessayez dans un instant.');
      return 1;
    }
    const res = await sweep(client, { thresholds, lang: cfg.VIGIE_LANG, full: values.full === true });
    await client.query("select pg_advisory_unlock(hashtext('vigie:sweep'))");
    const critical = res.findings.filter((f) => f.severity === 'CRITICAL').length;
    if (values.json) {
      ctx.out(JSON.stringify({ durationMs: Math.round(res.durationMs), findings: res.findings, actions: res.actions }, null, 2));
      return critical > 0 ? 1 : 0;
    }
    const sorted = [...res.findings].sort((a, b) => (a.severity === b.severity ? a.check_code.localeCompare(b.check_code) : a.severity === 'CRITICAL' ? -1 : 1));
    const action = new Map(res.actions.map((a) => [`${a.check_code}/${a.entity_id}`, a.action]));
    const word = (a: string | undefined) =>
      ({ opened: en ? 'new' : 'nouvelle', reopened: en ? 'reopened' : 'rouverte', still_open: en ? 'still open' : 'toujours ouverte' })[a ?? ''] ?? '—';
    if (sorted.length) {
      ctx.out(
        renderTable(
          en ? ['Severity', 'Rule', 'Tank', 'Owner', 'Alert', 'Message'] : ['Sévérité', 'Règle', 'Citerne', 'Propriétaire', 'Alerte', 'Message'],
          sorted.map((f) => [
            f.severity,
            f.check_code,
            (f.payload.citerne as string | null) ?? (f.payload.plaque_camion as string | null) ?? '—',
            (f.payload.proprietaire as string | null) ?? '—',
            word(action.get(`${f.check_code}/${f.entity_id}`)),
            en ? f.message_en : f.message_fr,
          ]),
        ),
      );
      ctx.out('');
    }
    const resolved = res.actions.filter((a) => a.action === 'resolved').length;
    const warn = sorted.length - critical;
    ctx.out(
      en
        ? `${sorted.length} finding(s): ${critical} CRITICAL, ${warn} WARN; ${resolved} alert(s) auto-resolved; ${Math.round(res.durationMs)} ms.`
        : `${sorted.length} constat(s) : ${critical} CRITICAL, ${warn} WARN ; ${resolved} alerte(s) résolue(s) automatiquement ; ${Math.round(res.durationMs)} ms.`,
    );
    return critical > 0 ? 1 : 0;
  },
};
