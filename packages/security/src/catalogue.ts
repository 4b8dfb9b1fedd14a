/**
 * The security rule catalogue: stable codes, default severity, what they
 * watch, their thresholds (with the variable that sets each) and their
 * messages in French and English. One SQL function per rule lives in
 * infra/vigie/migrations/0005_security.sql (vigie.sec_*).
 */
export type Lang = 'fr' | 'en';
export type Severity = 'CRITICAL' | 'WARN';

export const SECURITY_CHECK_CODES = [
  'SEC_LOGIN_FAILED_BURST_ACCOUNT',
  'SEC_LOGIN_FAILED_BURST_IP',
  'SEC_ACCESS_DENIED_BURST_USER',
  'SEC_ACCESS_DENIED_BURST_IP',
  'SEC_ROLE_CHANGED',
  'SEC_RLS_PUBLIC_POLICY',
  'SEC_RLS_DISABLED',
  'SEC_LOG_ACTION_FORGED',
  'SEC_PRIVILEGED_OFF_HOURS',
  'SEC_ADMIN_NEW_ADDRESS',
] as const;
export type SecurityCheckCode = (typeof SECURITY_CHECK_CODES)[number];

/** The facts each rule's message is built from (also stored in the alert payload). */
export interface FactsByCode {
  SEC_LOGIN_FAILED_BURST_ACCOUNT: { account: string; role: string | null; failures: number; window: string; addresses: number };
  SEC_LOGIN_FAILED_BURST_IP: { ip: string; failures: number; window: string; accounts: number };
  SEC_ACCESS_DENIED_BURST_USER: { account: string; role: string | null; denials: number; window: string; addresses: number };
  SEC_ACCESS_DENIED_BURST_IP: { ip: string; denials: number; window: string; accounts: number };
  SEC_ROLE_CHANGED: { target: string; from: string | null; to: string; actor: string; self: boolean };
  SEC_RLS_PUBLIC_POLICY: { table: string; policy: string; roles: string[]; command: string };
  SEC_RLS_DISABLED: { table: string; policies: number };
  SEC_LOG_ACTION_FORGED: { actor: string; claimed: string; action: string; module: string | null };
  SEC_PRIVILEGED_OFF_HOURS: { actor: string; what: 'adjustment' | 'role_change'; localTime: string; hours: string };
  SEC_ADMIN_NEW_ADDRESS: { user: string; role: string; ip: string; known: number };
}

export interface ThresholdDoc {
  /** The environment variable (evaluator) that sets it. */
  env: string;
  default: string;
  meaning: string;
}

export interface SecurityRuleDef<C extends SecurityCheckCode = SecurityCheckCode> {
  code: C;
  family: 'security';
  /** Default severity; `criticalWhen` says when it is raised to CRITICAL. */
  severity: Severity;
  criticalWhen: string | null;
  /** system_alerts.entity_type of its alerts, and what one alert stands for. */
  entityType: string;
  entity: string;
  /** true: resolved by Vigie when the condition is gone; false: a person resolves it. */
  autoResolve: boolean;
  title: Record<Lang, string>;
  /** Where the facts come from. */
  source: string;
  thresholds: ThresholdDoc[];
  message: (f: FactsByCode[C], lang: Lang) => string;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
const withRole = (role: string | null) => (role ? ` (${role})` : '');

export const SECURITY_RULES: { [C in SecurityCheckCode]: SecurityRuleDef<C> } = {
  SEC_LOGIN_FAILED_BURST_ACCOUNT: {
    code: 'SEC_LOGIN_FAILED_BURST_ACCOUNT',
    family: 'security',
    severity: 'WARN',
    criticalWhen: 'the account has a privileged role (VIGIE_SEC_PRIVILEGED_ROLES)',
    entityType: 'ACCOUNT',
    entity: 'the account (auth user id, or a key of the attempted email)',
    autoResolve: true,
    title: { fr: 'Rafale d’échecs de connexion sur un compte', en: 'Failed-login burst on an account' },
    source: 'access events login_failed (POST /v1/access-events)',
    thresholds: [{ env: 'VIGIE_SEC_LOGIN_FAILED_ACCOUNT', default: '5/15m', meaning: 'failed logins on one account within the window' }],
    message: (f, lang) =>
      lang === 'fr'
        ? `${plural(f.failures, 'échec', 'échecs')} de connexion en ${f.window} sur le compte ${f.account}${withRole(f.role)}, depuis ${plural(f.addresses, 'adresse', 'adresses')}`
        : `${plural(f.failures, 'failed login', 'failed logins')} in ${f.window} on account ${f.account}${withRole(f.role)}, from ${plural(f.addresses, 'address', 'addresses')}`,
  },
  SEC_LOGIN_FAILED_BURST_IP: {
    code: 'SEC_LOGIN_FAILED_BURST_IP',
    family: 'security',
    severity: 'WARN',
    criticalWhen: 'the address tried at least VIGIE_SEC_SPRAY_ACCOUNTS distinct accounts (password spraying)',
    entityType: 'IP',
    entity: "the source address (md5('ip:'||address))",
    autoResolve: true,
    title: { fr: 'Rafale d’échecs de connexion depuis une adresse', en: 'Failed-login burst from an address' },
    source: 'access events login_failed (POST /v1/access-events)',
    thresholds: [
      { env: 'VIGIE_SEC_LOGIN_FAILED_IP', default: '20/15m', meaning: 'failed logins from one address within the window' },
      { env: 'VIGIE_SEC_SPRAY_ACCOUNTS', default: '3', meaning: 'distinct accounts tried that make it CRITICAL' },
    ],
    message: (f, lang) =>
      lang === 'fr'
        ? `${plural(f.failures, 'échec', 'échecs')} de connexion en ${f.window} depuis ${f.ip}, sur ${plural(f.accounts, 'compte', 'comptes')}`
        : `${plural(f.failures, 'failed login', 'failed logins')} in ${f.window} from ${f.ip}, on ${plural(f.accounts, 'account', 'accounts')}`,
  },
  SEC_ACCESS_DENIED_BURST_USER: {
    code: 'SEC_ACCESS_DENIED_BURST_USER',
    family: 'security',
    severity: 'WARN',
    criticalWhen: null,
    entityType: 'ACCOUNT',
    entity: 'the account (auth user id, or a key of the email)',
    autoResolve: true,
    title: { fr: 'Rafale de refus d’accès (401/403) pour un utilisateur', en: 'Burst of denied requests (401/403) for a user' },
    source: 'access events http_401, http_403, app_denied',
    thresholds: [{ env: 'VIGIE_SEC_DENIED_USER', default: '20/5m', meaning: 'denied requests of one user within the window' }],
    message: (f, lang) =>
      lang === 'fr'
        ? `${plural(f.denials, 'accès refusé', 'accès refusés')} (401/403) en ${f.window} pour ${f.account}${withRole(f.role)}, depuis ${plural(f.addresses, 'adresse', 'adresses')}`
        : `${plural(f.denials, 'denied request', 'denied requests')} (401/403) in ${f.window} for ${f.account}${withRole(f.role)}, from ${plural(f.addresses, 'address', 'addresses')}`,
  },
  SEC_ACCESS_DENIED_BURST_IP: {
    code: 'SEC_ACCESS_DENIED_BURST_IP',
    family: 'security',
    severity: 'WARN',
    criticalWhen: null,
    entityType: 'IP',
    entity: "the source address (md5('ip:'||address))",
    autoResolve: true,
    title: { fr: 'Rafale de refus d’accès (401/403) depuis une adresse', en: 'Burst of denied requests (401/403) from an address' },
    source: 'access events http_401, http_403, app_denied',
    thresholds: [{ env: 'VIGIE_SEC_DENIED_IP', default: '50/5m', meaning: 'denied requests from one address within the window' }],
    message: (f, lang) =>
      lang === 'fr'
        ? `${plural(f.denials, 'accès refusé', 'accès refusés')} (401/403) en ${f.window} depuis ${f.ip} (${plural(f.accounts, 'compte', 'comptes')})`
        : `${plural(f.denials, 'denied request', 'denied requests')} (401/403) in ${f.window} from ${f.ip} (${plural(f.accounts, 'account', 'accounts')})`,
  },
  SEC_ROLE_CHANGED: {
    code: 'SEC_ROLE_CHANGED',
    family: 'security',
    severity: 'WARN',
    criticalWhen: 'someone becomes a privileged role (VIGIE_SEC_PRIVILEGED_ROLES), or a user changes their own role to one that is not lower',
    entityType: 'ROLE_CHANGE',
    entity: "one role change (md5('role_change:'||outbox id))",
    autoResolve: false,
    title: { fr: 'Changement de rôle dans profils', en: 'Role change in profils' },
    source: 'profils UPDATE/INSERT (trigger → outbox profil.role_changed, actor = JWT sub)',
    thresholds: [{ env: 'VIGIE_SEC_PRIVILEGED_ROLES', default: 'admin,directeur', meaning: 'roles whose grant is CRITICAL' }],
    message: (f, lang) => {
      const from = f.from ?? (lang === 'fr' ? 'nouveau profil' : 'new profile');
      if (f.self)
        return lang === 'fr'
          ? `${f.target} a changé son propre rôle : ${from} → ${f.to}`
          : `${f.target} changed their own role: ${from} → ${f.to}`;
      return lang === 'fr' ? `Rôle de ${f.target} changé : ${from} → ${f.to}, par ${f.actor}` : `Role of ${f.target} changed: ${from} → ${f.to}, by ${f.actor}`;
    },
  },
  SEC_RLS_PUBLIC_POLICY: {
    code: 'SEC_RLS_PUBLIC_POLICY',
    family: 'security',
    severity: 'CRITICAL',
    criticalWhen: 'its roles include {public} (a policy only TO anon is WARN)',
    entityType: 'POLICY',
    entity: "the policy (md5('policy:'||schema.table.policy))",
    autoResolve: true,
    title: { fr: 'Politique RLS ouverte à {public}', en: 'RLS policy open to {public}' },
    source: 'pg_policy, live through the event trigger vigie_policy_ddl (outbox ddl.policy_changed), and the sweep',
    thresholds: [{ env: 'VIGIE_SEC_RLS_SCHEMAS', default: 'public', meaning: 'schemas watched' }],
    message: (f, lang) =>
      lang === 'fr'
        ? `Politique RLS « ${f.policy} » sur ${f.table} ouverte à ${f.roles.join(', ')} (${f.command}) : contraire à la règle « 0 politique publique »`
        : `RLS policy "${f.policy}" on ${f.table} open to ${f.roles.join(', ')} (${f.command}): breaks the "0 public policy" standard`,
  },
  SEC_RLS_DISABLED: {
    code: 'SEC_RLS_DISABLED',
    family: 'security',
    severity: 'CRITICAL',
    criticalWhen: 'always',
    entityType: 'TABLE',
    entity: "the table (md5('table:'||schema.table))",
    autoResolve: true,
    title: { fr: 'RLS désactivée sur une table métier', en: 'RLS disabled on a business table' },
    source: 'pg_class.relrowsecurity, live through the event trigger vigie_policy_ddl, and the sweep',
    thresholds: [
      { env: 'VIGIE_SEC_RLS_SCHEMAS', default: 'public', meaning: 'schemas whose tables are business tables' },
      { env: 'VIGIE_SEC_RLS_IGNORE', default: '(none)', meaning: 'tables allowed without RLS' },
    ],
    message: (f, lang) =>
      lang === 'fr'
        ? `RLS désactivée sur la table ${f.table}${f.policies ? ` : ${plural(f.policies, 'politique ignorée', 'politiques ignorées')}` : ' : toutes ses lignes sont exposées'}`
        : `RLS disabled on table ${f.table}${f.policies ? `: ${plural(f.policies, 'policy', 'policies')} no longer enforced` : ': every row is exposed'}`,
  },
  SEC_LOG_ACTION_FORGED: {
    code: 'SEC_LOG_ACTION_FORGED',
    family: 'security',
    severity: 'CRITICAL',
    criticalWhen: 'always',
    entityType: 'LOG_FORGERY',
    entity: "the forging user and local day (md5('forged:'||actor||':'||date))",
    autoResolve: false,
    title: { fr: 'Ligne log_actions falsifiée', en: 'Forged log_actions row' },
    source: 'log_actions INSERT (trigger → outbox log_action.created: user_id vs JWT sub)',
    thresholds: [],
    message: (f, lang) =>
      lang === 'fr'
        ? `Journal d’audit falsifié : ${f.actor} a écrit « ${f.action} »${f.module ? ` (${f.module})` : ''} dans log_actions au nom de ${f.claimed}`
        : `Forged audit log: ${f.actor} wrote "${f.action}"${f.module ? ` (${f.module})` : ''} into log_actions on behalf of ${f.claimed}`,
  },
  SEC_PRIVILEGED_OFF_HOURS: {
    code: 'SEC_PRIVILEGED_OFF_HOURS',
    family: 'security',
    severity: 'WARN',
    criticalWhen: null,
    entityType: 'OFF_HOURS',
    entity: "the actor and local day (md5('offhours:'||actor||':'||date))",
    autoResolve: false,
    title: { fr: 'Action privilégiée hors heures ouvrées', en: 'Privileged action outside working hours' },
    source: 'stocks_adjustments INSERT and profils role changes (outbox adjustment.created, profil.role_changed)',
    thresholds: [{ env: 'VIGIE_WORKING_HOURS', default: 'mon-sat 07:00-19:00 (VIGIE_TZ)', meaning: 'working hours' }],
    message: (f, lang) => {
      const what = f.what === 'adjustment' ? (lang === 'fr' ? 'Ajustement de stock' : 'Stock adjustment') : lang === 'fr' ? 'Changement de rôle' : 'Role change';
      return lang === 'fr'
        ? `${what} hors heures ouvrées par ${f.actor}, le ${f.localTime} (heures ouvrées : ${f.hours})`
        : `${what} outside working hours by ${f.actor}, at ${f.localTime} (working hours: ${f.hours})`;
    },
  },
  SEC_ADMIN_NEW_ADDRESS: {
    code: 'SEC_ADMIN_NEW_ADDRESS',
    family: 'security',
    severity: 'WARN',
    criticalWhen: null,
    entityType: 'ADMIN_ADDRESS',
    entity: "the user and address (md5('admin_address:'||user||':'||address))",
    autoResolve: false,
    title: { fr: 'Connexion d’un administrateur depuis une nouvelle adresse', en: 'Admin sign-in from a new address' },
    source: "auth.audit_log_entries action 'login' (outbox auth.audit) and access events login_succeeded",
    thresholds: [{ env: 'VIGIE_SEC_NEW_ADDRESS_ROLES', default: 'admin', meaning: 'roles watched' }],
    message: (f, lang) =>
      lang === 'fr'
        ? `Connexion de ${f.user} (${f.role}) depuis une adresse jamais vue pour ce compte : ${f.ip} (${plural(f.known, 'adresse connue', 'adresses connues')})`
        : `Sign-in of ${f.user} (${f.role}) from an address never seen for this account: ${f.ip} (${plural(f.known, 'known address', 'known addresses')})`,
  },
};

export function securityRule<C extends SecurityCheckCode>(code: C): SecurityRuleDef<C> {
  return SECURITY_RULES[code] as SecurityRuleDef<C>;
}

export function isSecurityCheckCode(code: string): code is SecurityCheckCode {
  return (SECURITY_CHECK_CODES as readonly string[]).includes(code);
}

/** Access-event kinds the listener accepts (docs/contracts/access-events.md). */
export const ACCESS_EVENT_KINDS = [
  'login_failed',
  'login_succeeded',
  'logout',
  'http_401',
  'http_403',
  'http_429',
  'app_denied',
  'password_reset_requested',
  'mfa_failed',
] as const;
export type AccessEventKind = (typeof ACCESS_EVENT_KINDS)[number];

/** Access-event kinds that are suspicious in themselves: each one is journaled. */
export const SUSPICIOUS_ACCESS_KINDS: readonly AccessEventKind[] = ['login_failed', 'http_401', 'http_403', 'http_429', 'app_denied', 'mfa_failed'];

/**
 * Supabase Auth actions journaled for traceability (severity INFO unless a
 * rule fires). `login` is journaled only when SEC_ADMIN_NEW_ADDRESS fires;
 * logout and token_refreshed never (normal traffic).
 */
export const SENSITIVE_AUTH_ACTIONS = [
  'user_signedup',
  'user_invited',
  'user_deleted',
  'user_modified',
  'user_updated_password',
  'user_recovery_requested',
  'user_repeated_signup',
  'token_revoked',
  'factor_unenrolled',
  'factor_deleted',
  'recovery_codes_deleted',
  'identity_unlinked',
] as const;

/** Journal `source` values. */
export type JournalSource = 'auth_audit' | 'access_events' | 'profils' | 'log_actions' | 'stocks_adjustments' | 'ddl' | 'system_alerts' | 'sweep';
