import { envVar, withDefault } from '@vigie/config';
import { z } from 'zod';

/** A rate rule: `threshold` events or more within `windowSeconds`. */
export interface RateRule {
  threshold: number;
  windowSeconds: number;
}

/** One span of working hours: ISO weekdays (1 = Monday … 7 = Sunday), local HH:MM start (inclusive) and end (exclusive). */
export interface WorkingHoursSegment {
  days: number[];
  start: string;
  end: string;
}

export interface SecuritySettings {
  /** Language of `system_alerts.message` (payload carries both). */
  lang: 'fr' | 'en';
  /** Operations time zone: working hours and "local day" keys. */
  timeZone: string;
  /** null = every hour is a working hour (SEC_PRIVILEGED_OFF_HOURS never fires). */
  workingHours: WorkingHoursSegment[] | null;
  /** The working hours as configured, for messages. */
  workingHoursText: string;
  loginFailedAccount: RateRule;
  loginFailedIp: RateRule;
  /** SEC_LOGIN_FAILED_BURST_IP is CRITICAL when the address tried at least this many accounts. */
  sprayAccounts: number;
  deniedUser: RateRule;
  deniedIp: RateRule;
  /** Becoming one of these roles is CRITICAL; bursts on these accounts are CRITICAL. */
  privilegedRoles: string[];
  /** Roles whose sign-in from a never-seen address raises SEC_ADMIN_NEW_ADDRESS. */
  newAddressRoles: string[];
  /** Schemas whose tables must have RLS on and no {public}/anon policy. */
  rlsSchemas: string[];
  /** Tables of those schemas allowed without RLS (`name` or `schema.name`). */
  rlsIgnoreTables: string[];
  /** How far back the sweep looks for events the event path has not journaled. */
  sweepLookbackHours: number;
}

/** Raised for a setting that cannot be understood (names the value and the expected form). */
export class SecuritySettingsError extends Error {
  readonly code = 'VIGIE_SECURITY_SETTINGS_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SecuritySettingsError';
  }
}

const DAYS: Record<string, number> = {
  mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7,
  lun: 1, mar: 2, mer: 3, jeu: 4, ven: 5, sam: 6, dim: 7,
};

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

/**
 * Parses working hours: `mon-sat 07:00-19:00`, several spans separated by
 * `;` (`mon-fri 07:00-19:00; sat 08:00-12:00`), days as names or ranges
 * joined by `,` (English or French three-letter names), `always` for none.
 * Spans do not cross midnight (write two spans instead).
 */
export function parseWorkingHours(text: string): WorkingHoursSegment[] | null {
  const src = text.trim().toLowerCase();
  if (src === 'always' || src === 'toujours' || src === '24/7') return null;
  if (src === '') throw new SecuritySettingsError('heures ouvrées vides (attendu : « mon-sat 07:00-19:00 » ou « always »)');
  const segments: WorkingHoursSegment[] = [];
  for (const part of src.split(';').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z,\-\s]+?)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})$/.exec(part);
    if (!m) throw new SecuritySettingsError(`heures ouvrées « ${part} » illisibles (attendu : « mon-sat 07:00-19:00 »)`);
    const [, daySpec = '', start = '', end = ''] = m;
    if (!TIME_RE.test(start) || !TIME_RE.test(end) || start === '24:00')
      throw new SecuritySettingsError(`heures « ${start}-${end} » invalides (HH:MM, 00:00 à 24:00)`);
    if (end <= start) throw new SecuritySettingsError(`plage « ${start}-${end} » : la fin doit suivre le début (pas de passage de minuit ; écrivez deux plages)`);
    const days = new Set<number>();
    for (const d of daySpec.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [a = '', b] = d.split('-').map((x) => x.trim());
      const from = DAYS[a];
      const to = b === undefined ? from : DAYS[b];
      if (from === undefined || to === undefined) throw new SecuritySettingsError(`jour « ${d} » inconnu (mon…sun ou lun…dim)`);
      if (to < from) throw new SecuritySettingsError(`plage de jours « ${d} » à l'envers`);
      for (let i = from; i <= to; i++) days.add(i);
    }
    if (days.size === 0) throw new SecuritySettingsError(`aucun jour dans « ${part} »`);
    segments.push({ days: [...days].sort((x, y) => x - y), start, end });
  }
  if (segments.length === 0) throw new SecuritySettingsError('heures ouvrées vides');
  return segments;
}

/** Parses `5/15m` (threshold / window with s, m or h). */
export function parseRate(text: string): RateRule {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,5})\s*(s|m|min|h)\s*$/i.exec(text);
  if (!m) throw new SecuritySettingsError(`seuil « ${text} » illisible (attendu : nombre/fenêtre, ex. 5/15m)`);
  const threshold = Number(m[1]);
  const n = Number(m[2]);
  const unit = (m[3] ?? 'm').toLowerCase();
  const windowSeconds = unit === 's' ? n : unit === 'h' ? n * 3600 : n * 60;
  if (threshold < 1) throw new SecuritySettingsError(`seuil « ${text} » : au moins 1 événement`);
  if (windowSeconds < 10 || windowSeconds > 7 * 86_400) throw new SecuritySettingsError(`fenêtre « ${text} » : entre 10 s et 7 jours`);
  return { threshold, windowSeconds };
}

export function formatRate(r: RateRule): string {
  const w = r.windowSeconds;
  const win = w % 3600 === 0 ? `${w / 3600}h` : w % 60 === 0 ? `${w / 60}m` : `${w}s`;
  return `${r.threshold}/${win}`;
}

export const DEFAULT_WORKING_HOURS = 'mon-sat 07:00-19:00';

export const DEFAULT_SECURITY_SETTINGS: SecuritySettings = Object.freeze({
  lang: 'fr',
  timeZone: 'Africa/Lubumbashi',
  workingHours: parseWorkingHours(DEFAULT_WORKING_HOURS),
  workingHoursText: DEFAULT_WORKING_HOURS,
  loginFailedAccount: { threshold: 5, windowSeconds: 15 * 60 },
  loginFailedIp: { threshold: 20, windowSeconds: 15 * 60 },
  sprayAccounts: 3,
  deniedUser: { threshold: 20, windowSeconds: 5 * 60 },
  deniedIp: { threshold: 50, windowSeconds: 5 * 60 },
  privilegedRoles: ['admin', 'directeur'],
  newAddressRoles: ['admin'],
  rlsSchemas: ['public'],
  rlsIgnoreTables: [],
  sweepLookbackHours: 24,
}) as SecuritySettings;

/** Defaults overridden by `partial`; `workingHoursText` alone is parsed into `workingHours`. */
export function securitySettings(partial: Partial<SecuritySettings> = {}): SecuritySettings {
  const out: SecuritySettings = { ...DEFAULT_SECURITY_SETTINGS, ...partial };
  if (partial.workingHoursText !== undefined && partial.workingHours === undefined) out.workingHours = parseWorkingHours(partial.workingHoursText);
  return out;
}

// ---------------------------------------------------------------- environment
// Like @vigie/config's withDefault, but the default goes through the
// schema's transform too (zod 4's .default() returns it as is).
const parsedDefault = <T extends z.ZodType>(schema: T, value: string) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.prefault(value as never));

const rate = (name: string, def: string, what: string) =>
  envVar(
    parsedDefault(
      z.string().transform((v, ctx) => {
        try {
          return parseRate(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
      def,
    ),
    { fix: `${name}=${def} (${what} : nombre/fenêtre en s, m ou h)` },
  );

const roleList = (name: string, def: string) =>
  envVar(
    parsedDefault(
      z
        .string()
        .transform((v) => v.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(/^[a-z_]{1,40}$/, 'rôles en minuscules séparés par des virgules'))),
      def,
    ),
    { fix: `${name}=${def}` },
  );

const nameList = (name: string, def: string, pattern: RegExp) =>
  envVar(
    parsedDefault(
      z
        .string()
        .transform((v) => v.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(pattern, 'noms SQL simples séparés par des virgules'))),
      def,
    ),
    { fix: `${name}=${def || '<table>,<schéma.table>'}` },
  );

/**
 * The security rules' environment variables, to spread into the evaluator's
 * config shape (with baseFields, which brings VIGIE_TZ and VIGIE_LANG). Pass
 * the parsed values to {@link securitySettingsFromEnv}.
 */
export const securityEnvFields = {
  VIGIE_WORKING_HOURS: envVar(
    parsedDefault(
      z.string().transform((v, ctx) => {
        try {
          parseWorkingHours(v);
          return v.trim();
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
      DEFAULT_WORKING_HOURS,
    ),
    { fix: `VIGIE_WORKING_HOURS="${DEFAULT_WORKING_HOURS}" (jours et plages locales à VIGIE_TZ, « ; » entre plages, ou always)` },
  ),
  VIGIE_SEC_LOGIN_FAILED_ACCOUNT: rate('VIGIE_SEC_LOGIN_FAILED_ACCOUNT', '5/15m', 'échecs de connexion par compte'),
  VIGIE_SEC_LOGIN_FAILED_IP: rate('VIGIE_SEC_LOGIN_FAILED_IP', '20/15m', 'échecs de connexion par adresse'),
  VIGIE_SEC_SPRAY_ACCOUNTS: envVar(withDefault(z.coerce.number().int().min(2).max(1000), 3), {
    fix: 'VIGIE_SEC_SPRAY_ACCOUNTS=3 (comptes distincts visés depuis une adresse pour passer en CRITICAL)',
  }),
  VIGIE_SEC_DENIED_USER: rate('VIGIE_SEC_DENIED_USER', '20/5m', 'refus 401/403 par utilisateur'),
  VIGIE_SEC_DENIED_IP: rate('VIGIE_SEC_DENIED_IP', '50/5m', 'refus 401/403 par adresse'),
  VIGIE_SEC_PRIVILEGED_ROLES: roleList('VIGIE_SEC_PRIVILEGED_ROLES', 'admin,directeur'),
  VIGIE_SEC_NEW_ADDRESS_ROLES: roleList('VIGIE_SEC_NEW_ADDRESS_ROLES', 'admin'),
  VIGIE_SEC_RLS_SCHEMAS: nameList('VIGIE_SEC_RLS_SCHEMAS', 'public', /^[a-z_][a-z0-9_]{0,62}$/),
  VIGIE_SEC_RLS_IGNORE: nameList('VIGIE_SEC_RLS_IGNORE', '', /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/),
  VIGIE_SEC_LOOKBACK_HOURS: envVar(withDefault(z.coerce.number().int().min(1).max(24 * 7), 24), {
    fix: 'VIGIE_SEC_LOOKBACK_HOURS=24 (entre 1 et 168)',
  }),
};

export interface SecurityEnv {
  VIGIE_TZ: string;
  VIGIE_LANG?: 'fr' | 'en';
  VIGIE_WORKING_HOURS: string;
  VIGIE_SEC_LOGIN_FAILED_ACCOUNT: RateRule;
  VIGIE_SEC_LOGIN_FAILED_IP: RateRule;
  VIGIE_SEC_SPRAY_ACCOUNTS: number;
  VIGIE_SEC_DENIED_USER: RateRule;
  VIGIE_SEC_DENIED_IP: RateRule;
  VIGIE_SEC_PRIVILEGED_ROLES: string[];
  VIGIE_SEC_NEW_ADDRESS_ROLES: string[];
  VIGIE_SEC_RLS_SCHEMAS: string[];
  VIGIE_SEC_RLS_IGNORE: string[];
  VIGIE_SEC_LOOKBACK_HOURS: number;
}

/** Settings from a config parsed with {@link securityEnvFields}. */
export function securitySettingsFromEnv(cfg: SecurityEnv): SecuritySettings {
  return {
    lang: cfg.VIGIE_LANG ?? 'fr',
    timeZone: cfg.VIGIE_TZ,
    workingHours: parseWorkingHours(cfg.VIGIE_WORKING_HOURS),
    workingHoursText: cfg.VIGIE_WORKING_HOURS,
    loginFailedAccount: cfg.VIGIE_SEC_LOGIN_FAILED_ACCOUNT,
    loginFailedIp: cfg.VIGIE_SEC_LOGIN_FAILED_IP,
    sprayAccounts: cfg.VIGIE_SEC_SPRAY_ACCOUNTS,
    deniedUser: cfg.VIGIE_SEC_DENIED_USER,
    deniedIp: cfg.VIGIE_SEC_DENIED_IP,
    privilegedRoles: cfg.VIGIE_SEC_PRIVILEGED_ROLES,
    newAddressRoles: cfg.VIGIE_SEC_NEW_ADDRESS_ROLES,
    rlsSchemas: cfg.VIGIE_SEC_RLS_SCHEMAS,
    rlsIgnoreTables: cfg.VIGIE_SEC_RLS_IGNORE,
    sweepLookbackHours: cfg.VIGIE_SEC_LOOKBACK_HOURS,
  };
}
