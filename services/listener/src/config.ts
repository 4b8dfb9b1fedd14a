import { type Env, baseFields, envVar, httpFields, loadConfig, optional, postgresUrl, redisFields, withDefault } from '@vigie/config';
import { z } from 'zod';

export const listenerShape = {
  ...baseFields,
  ...redisFields,
  ...httpFields(8081),
  LISTEN_DATABASE_URL: envVar(optional(postgresUrl), {
    fix: 'LISTEN_DATABASE_URL=postgres://…@hôte:5432/… (connexion directe, pas le pooler transactionnel 6543)',
    secret: true,
  }),
  VIGIE_INGEST_TOKEN: envVar(optional(z.string().min(32, 'au moins 32 caractères')), {
    fix: 'VIGIE_INGEST_TOKEN=<jeton aléatoire de 32 caractères ou plus, ex. openssl rand -hex 32>',
    secret: true,
  }),
  VIGIE_INGEST_MAX_BATCH: envVar(withDefault(z.coerce.number().int().min(1).max(10_000), 500), {
    fix: 'VIGIE_INGEST_MAX_BATCH=500 (événements par lot, entre 1 et 10000)',
  }),
  VIGIE_INGEST_MAX_BODY_BYTES: envVar(withDefault(z.coerce.number().int().min(1_024).max(10_485_760), 1_048_576), {
    fix: 'VIGIE_INGEST_MAX_BODY_BYTES=1048576 (taille maximale du corps, entre 1024 et 10485760 octets)',
  }),
  VIGIE_INGEST_RATE_PER_MIN: envVar(withDefault(z.coerce.number().int().min(1).max(100_000), 600), {
    fix: 'VIGIE_INGEST_RATE_PER_MIN=600 (requêtes par minute et par adresse cliente)',
  }),
  VIGIE_POLL_INTERVAL_MS: envVar(withDefault(z.coerce.number().int().min(200).max(60_000), 2_000), {
    fix: 'VIGIE_POLL_INTERVAL_MS=2000 (entre 200 et 60000)',
  }),
  VIGIE_REDISPATCH_AFTER_S: envVar(withDefault(z.coerce.number().int().min(10).max(86_400), 120), {
    fix: 'VIGIE_REDISPATCH_AFTER_S=120',
  }),
  VIGIE_SMOKE_TIMEOUT_MS: envVar(withDefault(z.coerce.number().int().min(200).max(60_000), 5_000), {
    fix: 'VIGIE_SMOKE_TIMEOUT_MS=5000',
  }),
  VIGIE_SMOKE_MIN_INTERVAL_MS: envVar(withDefault(z.coerce.number().int().min(100).max(3_600_000), 10_000), {
    fix: 'VIGIE_SMOKE_MIN_INTERVAL_MS=10000 (un nouveau canari au plus toutes les 10 s)',
  }),
  VIGIE_OUTBOX_RETENTION_DAYS: envVar(withDefault(z.coerce.number().int().min(1).max(365), 7), {
    fix: 'VIGIE_OUTBOX_RETENTION_DAYS=7',
  }),
};

export type ListenerConfig = ReturnType<typeof loadListenerConfig>;

export function loadListenerConfig(env: Env) {
  return loadConfig(listenerShape, env, (cfg) => {
    const issues: Array<{ variable: string; problem: string; fix: string }> = [];
    const listenUrl = cfg.LISTEN_DATABASE_URL ?? cfg.DATABASE_URL;
    if (new URL(listenUrl).port === '6543')
      issues.push({
        variable: cfg.LISTEN_DATABASE_URL ? 'LISTEN_DATABASE_URL' : 'DATABASE_URL',
        problem: 'pointe sur le pooler transactionnel Supabase (port 6543), qui ne permet pas LISTEN',
        fix: 'LISTEN_DATABASE_URL=<URL de connexion directe, port 5432>',
      });
    if (cfg.APP_ENV !== 'local' && !cfg.VIGIE_INGEST_TOKEN)
      issues.push({ variable: 'VIGIE_INGEST_TOKEN', problem: `requis en ${cfg.APP_ENV}`, fix: 'VIGIE_INGEST_TOKEN=<openssl rand -hex 32>' });
    return issues;
  });
}
