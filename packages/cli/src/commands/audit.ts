import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { auditExitCode, auditRls, renderAuditJson, renderAuditMarkdown } from '@vigie/audit';
import { type Command, UsageError } from '../context.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'audit RLS « 0 politique publique » : constats statiques + sonde dynamique (anon, authentifié sans profil)',
  usage: 'vigie audit rls [--schemas public,…] [--no-probe] [--json] [--out rapport.md] [--json-out rapport.json]',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub !== 'rls') throw new UsageError('sous-commande attendue : rls');
    const { values } = parseArgs({
      args: rest,
      options: {
        schemas: { type: 'string' },
        'no-probe': { type: 'boolean' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        'json-out': { type: 'string' },
      },
      strict: true,
    });
    const cfg = ctx.config();
    const client = await ctx.db();
    const database = new URL(cfg.DATABASE_URL).pathname.slice(1) || 'postgres';
    const report = await auditRls(client, {
      ...(values.schemas ? { schemas: values.schemas.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      probe: !values['no-probe'],
      database,
      release: cfg.APP_RELEASE,
    });
    const md = renderAuditMarkdown(report, cfg.VIGIE_LANG);
    if (values.out) writeFileSync(values.out, md);
    if (values['json-out']) writeFileSync(values['json-out'], renderAuditJson(report));
    ctx.out(values.json ? renderAuditJson(report) : md);
    return auditExitCode(report);
  },
};
