import { existsSync } from 'node:fs';
import {
  type Env,
  baseFields,
  booleanString,
  emailList,
  envVar,
  httpFields,
  loadConfig,
  optional,
  redisFields,
  withDefault,
} from '@vigie/config';
import { z } from 'zod';
import { RoutingFileError, loadRoutingFile } from './routing.js';

const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'doit être une URL http(s)://');

const smtpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'smtp:' || u.protocol === 'smtps:';
    } catch {
      return false;
    }
  }, 'doit être une URL smtp://utilisateur:motdepasse@hôte:587 ou smtps://…:465');

/** A Slack channel id (C…, G…) or a #name. */
const slackChannel = z.string().trim().regex(/^(#[\w.-]{1,80}|[CGD][A-Z0-9]{2,20}|[\w.-]{1,80})$/, 'identifiant de canal Slack attendu (C0123ABCD) ou #nom');

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
const WEEKDAY_ALIASES: Record<string, (typeof WEEKDAYS)[number]> = {
  dimanche: 'sunday',
  lundi: 'monday',
  mardi: 'tuesday',
  mercredi: 'wednesday',
  jeudi: 'thursday',
  vendredi: 'friday',
  samedi: 'saturday',
};
const weekday = z.preprocess(
  (v) => (typeof v === 'string' ? (WEEKDAY_ALIASES[v.trim().toLowerCase()] ?? v.trim().toLowerCase()) : v),
  z.enum(WEEKDAYS, { error: 'jour attendu : monday…sunday (ou lundi…dimanche)' }),
);

export const notifierShape = {
  ...baseFields,
  ...redisFields,
  ...httpFields(8083),
  SLACK_BOT_TOKEN: envVar(optional(z.string().trim().regex(/^xox[a-z]-[\w-]{6,}$/, 'jeton de bot Slack attendu (xoxb-…)')), {
    fix: 'SLACK_BOT_TOKEN=xoxb-… (jeton du bot Slack ; vide = messages vers le puits local)',
    secret: true,
  }),
  SLACK_API_URL: envVar(optional(httpUrl), { fix: 'SLACK_API_URL=https://slack.com/api/ (laisser vide en production)' }),
  SLACK_CHANNEL_OPS: envVar(optional(slackChannel), { fix: 'SLACK_CHANNEL_OPS=C0123ABCD (canal exploitation)' }),
  SLACK_CHANNEL_SECURITY: envVar(optional(slackChannel), { fix: 'SLACK_CHANNEL_SECURITY=C0123ABCD (canal sécurité ; défaut : SLACK_CHANNEL_OPS)' }),
  SLACK_CHANNEL_STAGING: envVar(optional(slackChannel), { fix: 'SLACK_CHANNEL_STAGING=C0123ABCD (messages de staging envoyés ailleurs)' }),
  SMTP_URL: envVar(optional(smtpUrl), {
    fix: 'SMTP_URL=smtp://utilisateur:motdepasse@hôte:587 (vide = e-mails vers le puits local)',
    secret: true,
  }),
  MAIL_FROM: envVar(optional(z.string().trim().min(3).max(200)), { fix: 'MAIL_FROM="Vigie <vigie@monaluxe.app>"' }),
  MAIL_ONCALL: envVar(withDefault(emailList, []), { fix: 'MAIL_ONCALL=astreinte@monaluxe.app,autre@monaluxe.app' }),
  MAIL_SECURITY: envVar(withDefault(emailList, []), { fix: 'MAIL_SECURITY=securite@monaluxe.app (défaut : MAIL_ONCALL)' }),
  MAIL_MANAGERS: envVar(withDefault(emailList, []), { fix: 'MAIL_MANAGERS=directeur@…,gerant@…,pca@… (synthèse quotidienne)' }),
  MAIL_DIRECTEUR: envVar(withDefault(emailList, []), { fix: 'MAIL_DIRECTEUR=directeur@monaluxe.app (synthèse hebdomadaire)' }),
  VIGIE_DIGEST_SCHEDULE: envVar(withDefault(booleanString, true), {
    fix: 'VIGIE_DIGEST_SCHEDULE=true|false (false : pas de synthèse planifiée depuis ce déploiement, ex. un staging)',
  }),
  VIGIE_DIGEST_HOUR: envVar(withDefault(z.coerce.number().int().min(0).max(23), 7), { fix: 'VIGIE_DIGEST_HOUR=7 (heure locale VIGIE_TZ, 0–23)' }),
  VIGIE_WEEKLY_DAY: envVar(withDefault(weekday, 'monday'), { fix: 'VIGIE_WEEKLY_DAY=monday' }),
  VIGIE_REMINDER_HOURS: envVar(withDefault(z.coerce.number().min(0).max(168), 4), {
    fix: 'VIGIE_REMINDER_HOURS=4 (0 = pas de rappel)',
  }),
  VIGIE_STORM_WINDOW_S: envVar(withDefault(z.coerce.number().int().min(1).max(3_600), 60), {
    fix: 'VIGIE_STORM_WINDOW_S=60 (fenêtre de regroupement des rafales, en secondes)',
  }),
  VIGIE_ROUTING_FILE: envVar(optional(z.string().trim().min(1)), { fix: 'VIGIE_ROUTING_FILE=/chemin/vers/routing.json (voir docs/contracts/notifications.md)' }),
  VIGIE_SECURITY_CODES: envVar(
    withDefault(
      z.preprocess((v) => (typeof v === 'string' ? v.split(/[,;\s]+/).filter(Boolean) : v), z.array(z.string().regex(/^[A-Z0-9_]+\*?$/, 'codes de règle en majuscules (AUTH_*)'))),
      ['SEC_*'],
    ),
    { fix: 'VIGIE_SECURITY_CODES=SEC_*,AUTRE_CODE (règles de la famille sécurité, en plus de payload.family)' },
  ),
  MLPP_APP_URL: envVar(withDefault(httpUrl, 'https://monaluxe.app'), { fix: 'MLPP_APP_URL=https://monaluxe.app' }),
  VIGIE_SINK_DIR: envVar(withDefault(z.string().trim().min(1), '.vigie/sink'), { fix: 'VIGIE_SINK_DIR=.vigie/sink' }),
  VIGIE_SINK_CONSOLE: envVar(withDefault(booleanString, true), { fix: 'VIGIE_SINK_CONSOLE=true|false' }),
  VIGIE_NOTIFIER_CONCURRENCY: envVar(withDefault(z.coerce.number().int().min(1).max(64), 8), { fix: 'VIGIE_NOTIFIER_CONCURRENCY=8' }),
  VIGIE_TICK_S: envVar(withDefault(z.coerce.number().min(0.2).max(3_600), 30), {
    fix: 'VIGIE_TICK_S=30 (rappels, synthèses, rattrapage)',
  }),
  VIGIE_SLACK_INTERVAL_MS: envVar(withDefault(z.coerce.number().int().min(0).max(60_000), 1_000), {
    fix: 'VIGIE_SLACK_INTERVAL_MS=1000 (un message par seconde et par canal)',
  }),
  VIGIE_RETRY_MAX_S: envVar(withDefault(z.coerce.number().min(0.1).max(3_600), 300), {
    fix: 'VIGIE_RETRY_MAX_S=300 (attente maximale entre deux essais)',
  }),
  VIGIE_GIVE_UP_HOURS: envVar(withDefault(z.coerce.number().min(0.01).max(720), 24), {
    fix: 'VIGIE_GIVE_UP_HOURS=24 (au-delà, un échec temporaire devient définitif)',
  }),
};

export type NotifierConfig = ReturnType<typeof loadNotifierConfig>;
export type Weekday = (typeof WEEKDAYS)[number];
export const weekdayIndex = (d: Weekday): number => WEEKDAYS.indexOf(d);

export function loadNotifierConfig(env: Env) {
  const cfg = loadConfig(notifierShape, env, (c) => {
    const issues: Array<{ variable: string; problem: string; fix: string }> = [];
    if (c.SLACK_BOT_TOKEN && !c.SLACK_CHANNEL_OPS)
      issues.push({ variable: 'SLACK_CHANNEL_OPS', problem: 'requis quand SLACK_BOT_TOKEN est défini', fix: 'SLACK_CHANNEL_OPS=C0123ABCD (canal exploitation)' });
    if (c.SMTP_URL && !c.MAIL_FROM)
      issues.push({ variable: 'MAIL_FROM', problem: 'requis quand SMTP_URL est défini', fix: 'MAIL_FROM="Vigie <vigie@monaluxe.app>"' });
    if (c.SMTP_URL && c.MAIL_ONCALL.length === 0)
      issues.push({ variable: 'MAIL_ONCALL', problem: 'requis quand SMTP_URL est défini (e-mail immédiat des alertes CRITIQUES)', fix: 'MAIL_ONCALL=astreinte@monaluxe.app' });
    if (c.APP_ENV === 'production' && !c.SLACK_BOT_TOKEN && !c.SMTP_URL)
      issues.push({
        variable: 'SLACK_BOT_TOKEN',
        problem: 'ni Slack ni SMTP configuré en production : les alertes n’iraient que dans le puits local',
        fix: 'SLACK_BOT_TOKEN=xoxb-… et/ou SMTP_URL=smtp://…',
      });
    if (c.APP_ENV === 'production' && c.SLACK_API_URL && !c.SLACK_API_URL.startsWith('https://'))
      issues.push({ variable: 'SLACK_API_URL', problem: 'doit être en https en production', fix: 'SLACK_API_URL= (vide : API officielle de Slack)' });
    if (c.VIGIE_ROUTING_FILE) {
      if (!existsSync(c.VIGIE_ROUTING_FILE))
        issues.push({ variable: 'VIGIE_ROUTING_FILE', problem: `fichier introuvable (${c.VIGIE_ROUTING_FILE})`, fix: 'VIGIE_ROUTING_FILE=<chemin d’un fichier JSON existant>' });
      else {
        try {
          loadRoutingFile(c.VIGIE_ROUTING_FILE);
        } catch (err) {
          if (!(err instanceof RoutingFileError)) throw err;
          issues.push({ variable: 'VIGIE_ROUTING_FILE', problem: err.message, fix: 'corrigez le fichier (format : docs/contracts/notifications.md)' });
        }
      }
    }
    return issues;
  });
  return cfg;
}
