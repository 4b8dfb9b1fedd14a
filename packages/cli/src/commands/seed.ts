import { parseArgs } from 'node:util';
import { ANOMALY_KINDS, type AnomalyKind } from '@vigie/seed';
import { type Command, UsageError } from '../context.js';

// The anomaly kinds the generator knows (one list: @vigie/seed's).
const ANOMALIES: readonly AnomalyKind[] = ANOMALY_KINDS;

export const seedCommand: Command = {
  name: 'seed',
  summary: 'données de référence ML_PP + opérations générées (déterministes), anomalies à la demande',
  usage: 'vigie seed [--days N] [--movements N] [--seed N] [--anomaly CODE]… [--reference-only]',
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        days: { type: 'string' },
        movements: { type: 'string' },
        seed: { type: 'string' },
        anomaly: { type: 'string', multiple: true },
        'reference-only': { type: 'boolean' },
      },
      strict: true,
    });
    const int = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} doit être un entier entre ${min} et ${max}`);
      return n;
    };
    const days = int('days', values.days, 1, 3650);
    const movements = int('movements', values.movements, 0, 5_000_000);
    const seed = int('seed', values.seed, 0, 2 ** 31 - 1);
    for (const a of values.anomaly ?? [])
      if (!(ANOMALIES as readonly string[]).includes(a)) throw new UsageError(`anomalie inconnue : ${a} (connues : ${ANOMALIES.join(', ')})`);
    const cfg = ctx.config();
    if (cfg.APP_ENV === 'production') {
      ctx.err('vigie seed : refus de générer des opérations en production (APP_ENV=production).');
      return 1;
    }
    const client = await ctx.db();
    const s = await import('@vigie/seed');
    await s.seedReference(client);
    ctx.out('Données de référence en place (dépôt Daipn, 7 citernes, 2 produits, profils).');
    if (!values['reference-only']) {
      const t0 = performance.now();
      const r = await s.generateOperations(client, {
        ...(seed !== undefined ? { seed } : {}),
        ...(days !== undefined ? { days } : {}),
        ...(movements !== undefined ? { movements } : {}),
      });
      const secs = (performance.now() - t0) / 1000;
      ctx.out(`Opérations générées en ${secs.toFixed(1)} s : ${JSON.stringify(r)}`);
    }
    for (const a of values.anomaly ?? []) {
      const r = await s.injectAnomaly(client, a as AnomalyKind);
      ctx.out(`Anomalie ${a} injectée : ${JSON.stringify(r)}`);
    }
    return 0;
  },
};
