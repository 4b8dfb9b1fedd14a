import { setTimeout as sleep } from 'node:timers/promises';
import { formatDateTime } from '@vigie/channels';
import type { Env } from '@vigie/config';
import { Registry } from '@vigie/health';
import { createLogger } from '@vigie/logger';
import { loadNotifierConfig } from './config.js';
import { type DigestOutcome, runDigest } from './digest.js';
import type { Period } from './schedule.js';
import { createCore } from './service.js';

/**
 * What `vigie digest --now` runs, in the CLI's process: the digest from the
 * last scheduled one until now, sent through the configured channels (or the
 * local sink), recorded in vigie.digests (trigger `manual`) and the ledger.
 */
export async function digestNow(opts: { env: Env; period: Period; out: (line?: string) => void }): Promise<number> {
  const cfg = loadNotifierConfig(opts.env);
  const logger = createLogger({
    service: 'cli',
    env: cfg.APP_ENV,
    release: cfg.APP_RELEASE,
    level: cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL,
    secrets: cfg.secrets,
    destination: process.stderr,
  });
  const core = createCore(cfg, logger, new Registry(), async () => undefined);
  const fr = cfg.VIGIE_LANG === 'fr';
  try {
    const to = new Date();
    const req = { period: opts.period, periodKey: `manual-${to.toISOString()}`, trigger: 'manual' as const, to };
    let r: DigestOutcome = await runDigest(core, req);
    for (let i = 0; i < 5 && r.status === 'pending'; i++) {
      await sleep(Math.min(5_000, Math.max(500, (r.retryAt?.getTime() ?? Date.now()) - Date.now())));
      r = await runDigest(core, req);
    }
    const { rows } = await core.pool.query<{ period_from: Date; period_to: Date }>('select period_from, period_to from vigie.digests where id = $1', [r.digestId]);
    const span = rows[0];
    const when = (d: Date) => formatDateTime(d, cfg.VIGIE_TZ, cfg.VIGIE_LANG);
    const label = fr ? (opts.period === 'daily' ? 'Synthèse quotidienne' : 'Synthèse hebdomadaire') : opts.period === 'daily' ? 'Daily digest' : 'Weekly digest';
    opts.out(
      fr
        ? `${label} n° ${r.digestId}${span ? ` (du ${when(span.period_from)} au ${when(span.period_to)})` : ''}`
        : `${label} #${r.digestId}${span ? ` (from ${when(span.period_from)} to ${when(span.period_to)})` : ''}`,
    );
    const f = r.figures;
    opts.out(
      fr
        ? `  ouvertes : ${f.open.CRITICAL} critique(s), ${f.open.WARN} avertissement(s) · nouvelles : ${f.opened} · résolues : ${f.resolved}`
        : `  open: ${f.open.CRITICAL} critical, ${f.open.WARN} warning(s) · opened: ${f.opened} · resolved: ${f.resolved}`,
    );
    if (r.recipients.length === 0) opts.out(fr ? '  aucun destinataire configuré (MAIL_MANAGERS / MAIL_DIRECTEUR)' : '  no recipient configured (MAIL_MANAGERS / MAIL_DIRECTEUR)');
    for (const x of r.recipients) {
      const status = fr ? ({ sent: 'envoyé', pending: 'en attente', failed_permanent: 'échec définitif' } as Record<string, string>)[x.status] ?? x.status : x.status;
      opts.out(`  ${x.channel === 'email' ? '✉' : '#'} ${x.recipient} : ${status}${x.error ? ` (${x.error})` : ''}`);
    }
    if (core.out.chatProvider === 'sink' || core.out.mailProvider === 'sink')
      opts.out(fr ? `  puits local : ${cfg.VIGIE_SINK_DIR} (email.jsonl, slack.jsonl, alerts.log)` : `  local sink: ${cfg.VIGIE_SINK_DIR} (email.jsonl, slack.jsonl, alerts.log)`);
    return r.status === 'sent' ? 0 : 1;
  } finally {
    core.out.close();
    await core.pool.end();
  }
}
