import { z } from 'zod';

/**
 * Metadata attached to each environment variable's schema: how to fix it when
 * it is wrong, and whether its value is a secret (redacted everywhere).
 */
export interface VarMeta {
  fix: string;
  secret?: boolean;
}

export const varMeta = z.registry<VarMeta>();

/** Declares an environment variable: its schema plus the fix shown when it is invalid. */
export function envVar<T extends z.ZodType>(schema: T, meta: VarMeta): T {
  varMeta.add(schema as z.ZodType, meta);
  return schema;
}

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** Strict boolean: only true/false/1/0/yes/no (case-insensitive). */
export const booleanString = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'oui'].includes(s)) return true;
  if (['false', '0', 'no', 'non'].includes(s)) return false;
  return v;
}, z.boolean({ error: 'attendu : true ou false' }));

export const postgresUrl = z
  .string({ error: 'requis' })
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'doit être une URL postgres://utilisateur@hôte:port/base');

export const redisUrl = z
  .string({ error: 'requis' })
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'redis:' || u.protocol === 'rediss:';
    } catch {
      return false;
    }
  }, 'doit être une URL redis://hôte:port');

export const timeZone = z
  .string()
  .trim()
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('fr-FR', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'fuseau horaire IANA inconnu');

export const port = z.coerce
  .number({ error: 'doit être un nombre' })
  .int('doit être un entier')
  .min(1, 'doit être entre 1 et 65535')
  .max(65535, 'doit être entre 1 et 65535');

export const emailList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(/[,;\s]+/)
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.email('adresse e-mail invalide')),
);

export const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional());
export const withDefault = <T extends z.ZodType>(schema: T, value: z.input<T>) =>
  z.preprocess(emptyToUndefined, schema.default(value as never));

/** The variables every Vigie process reads. Services extend this object. */
export const baseFields = {
  APP_ENV: envVar(withDefault(z.enum(['local', 'staging', 'production'], { error: 'attendu : local, staging ou production' }), 'local'), {
    fix: 'APP_ENV=local|staging|production',
  }),
  APP_RELEASE: envVar(optional(z.string().trim().regex(/^[\w.\-+/]{1,80}$/, 'caractères autorisés : lettres, chiffres, . - _ + /')), {
    fix: 'APP_RELEASE=<sha git ou tag> (fixé au build ; requis en production)',
  }),
  DATABASE_URL: envVar(postgresUrl, {
    fix: 'DATABASE_URL=postgres://vigie_app:<mot de passe>@hôte:5432/postgres',
    secret: true,
  }),
  LOG_LEVEL: envVar(withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'), {
    fix: 'LOG_LEVEL=fatal|error|warn|info|debug|trace|silent',
  }),
  VIGIE_TZ: envVar(withDefault(timeZone, 'Africa/Lubumbashi'), { fix: 'VIGIE_TZ=Africa/Lubumbashi (un fuseau IANA)' }),
  VIGIE_LANG: envVar(withDefault(z.enum(['fr', 'en'], { error: 'attendu : fr ou en' }), 'fr'), { fix: 'VIGIE_LANG=fr|en' }),
};

export const redisFields = {
  REDIS_URL: envVar(withDefault(redisUrl, 'redis://127.0.0.1:6379'), {
    fix: 'REDIS_URL=redis://hôte:6379',
    secret: true,
  }),
  VIGIE_QUEUE_PREFIX: envVar(withDefault(z.string().regex(/^[a-z][a-z0-9_-]{0,40}$/, 'lettres minuscules, chiffres, - et _'), 'vigie'), {
    fix: 'VIGIE_QUEUE_PREFIX=vigie',
  }),
};

export const httpFields = (defaultPort: number) => ({
  HOST: envVar(withDefault(z.string().min(1), '0.0.0.0'), { fix: 'HOST=0.0.0.0' }),
  PORT: envVar(withDefault(port, defaultPort), { fix: `PORT=${defaultPort} (un port TCP libre)` }),
});
