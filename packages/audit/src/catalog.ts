/**
 * The finding codes of `auditRls`: one entry per code, with its default
 * severity and titles. Codes are stable (documented in README.md); severities
 * may be raised or lowered per occurrence when noted.
 */
import type { Finding, Severity } from './types.js';

interface CodeDef {
  severity: Severity;
  title_fr: string;
  title_en: string;
}

export const FINDING_CODES = {
  RLS_POLICY_PUBLIC_ROLE: {
    severity: 'ERROR',
    title_fr: 'Politique RLS attribuée au rôle {public}',
    title_en: 'RLS policy granted to role {public}',
  },
  RLS_POLICY_ANON_ROLE: {
    severity: 'WARN',
    title_fr: 'Politique RLS attribuée au rôle anon',
    title_en: 'RLS policy granted to role anon',
  },
  RLS_POLICY_ALWAYS_TRUE_ANON: {
    severity: 'ERROR',
    title_fr: 'Politique toujours vraie accessible à anon',
    title_en: 'Always-true policy reachable by anon',
  },
  RLS_POLICY_ALWAYS_TRUE_WRITE: {
    severity: 'WARN',
    title_fr: 'Politique d’écriture toujours vraie',
    title_en: 'Always-true write policy',
  },
  RLS_POLICY_NULL_AUTH_DISJUNCT: {
    severity: 'WARN',
    title_fr: 'Politique vraie quand auth.uid() est NULL',
    title_en: 'Policy true when auth.uid() is NULL',
  },
  RLS_POLICY_USER_METADATA: {
    severity: 'ERROR',
    title_fr: 'Politique fondée sur user_metadata (modifiable par l’utilisateur)',
    title_en: 'Policy relies on user_metadata (user-editable)',
  },
  RLS_POLICY_PROFILS_ID_UID: {
    severity: 'WARN',
    title_fr: 'Politique comparant profils.id à auth.uid()',
    title_en: 'Policy compares profils.id with auth.uid()',
  },
  FUNCTION_PROFILS_ID_UID: {
    severity: 'WARN',
    title_fr: 'Fonction comparant profils.id à auth.uid()',
    title_en: 'Function compares profils.id with auth.uid()',
  },
  RLS_DISABLED_EXPOSED: {
    severity: 'ERROR',
    title_fr: 'RLS désactivée sur une table exposée par l’API',
    title_en: 'RLS disabled on a table exposed by the API',
  },
  RLS_POLICY_ON_DISABLED_TABLE: {
    severity: 'ERROR',
    title_fr: 'Politiques présentes mais RLS désactivée',
    title_en: 'Policies exist but RLS is disabled',
  },
  RLS_ENABLED_NO_POLICY: {
    severity: 'INFO',
    title_fr: 'RLS activée sans aucune politique',
    title_en: 'RLS enabled without any policy',
  },
  VIEW_SECURITY_DEFINER: {
    severity: 'ERROR',
    title_fr: 'Vue sans security_invoker au-dessus de tables RLS',
    title_en: 'View without security_invoker over RLS tables',
  },
  VIEW_EXPOSES_AUTH_USERS: {
    severity: 'ERROR',
    title_fr: 'Vue exposant auth.users',
    title_en: 'View exposes auth.users',
  },
  MATVIEW_EXPOSED: {
    severity: 'WARN',
    title_fr: 'Vue matérialisée exposée par l’API (sans RLS possible)',
    title_en: 'Materialized view exposed by the API (no RLS possible)',
  },
  FOREIGN_TABLE_EXPOSED: {
    severity: 'WARN',
    title_fr: 'Table étrangère exposée par l’API (sans RLS possible)',
    title_en: 'Foreign table exposed by the API (no RLS possible)',
  },
  FUNCTION_SECDEF_SEARCH_PATH: {
    severity: 'WARN',
    title_fr: 'Fonction SECURITY DEFINER sans search_path fixé',
    title_en: 'SECURITY DEFINER function without a fixed search_path',
  },
  FUNCTION_SEARCH_PATH_WRITABLE: {
    severity: 'WARN',
    title_fr: 'search_path de fonction incluant un schéma modifiable par l’API',
    title_en: 'Function search_path includes a schema writable by API roles',
  },
  FUNCTION_SEARCH_PATH_MUTABLE: {
    severity: 'INFO',
    title_fr: 'Fonction sans search_path fixé',
    title_en: 'Function without a fixed search_path',
  },
  FUNCTION_SECDEF_ANON_EXECUTE: {
    severity: 'WARN',
    title_fr: 'Fonction SECURITY DEFINER exécutable par anon',
    title_en: 'SECURITY DEFINER function executable by anon',
  },
  FUNCTION_SECDEF_AUTHENTICATED_EXECUTE: {
    severity: 'INFO',
    title_fr: 'Fonction SECURITY DEFINER exécutable par authenticated',
    title_en: 'SECURITY DEFINER function executable by authenticated',
  },
  SCHEMA_CREATE_GRANTED: {
    severity: 'ERROR',
    title_fr: 'Droit CREATE sur un schéma accordé à un rôle de l’API',
    title_en: 'CREATE on a schema granted to an API role',
  },
  ANON_SCHEMA_USAGE: {
    severity: 'WARN',
    title_fr: 'Droits accordés à anon sur un schéma non exposé',
    title_en: 'Grants to anon on a non-exposed schema',
  },
  ANON_TABLE_GRANTS: {
    severity: 'INFO',
    title_fr: 'Privilèges de table accordés à anon (protégés par RLS)',
    title_en: 'Table privileges granted to anon (guarded by RLS)',
  },
  API_ROLE_MISSING: {
    severity: 'INFO',
    title_fr: 'Rôle Supabase absent',
    title_en: 'Supabase role missing',
  },
  PROBE_ANON_READ: {
    severity: 'ERROR',
    title_fr: 'Sonde : anon lit réellement des lignes',
    title_en: 'Probe: anon actually reads rows',
  },
  PROBE_ANON_WRITE: {
    severity: 'ERROR',
    title_fr: 'Sonde : anon écrit réellement',
    title_en: 'Probe: anon actually writes',
  },
  PROBE_NOPROFILE_READ: {
    severity: 'WARN',
    title_fr: 'Sonde : un utilisateur authentifié sans profil lit des lignes',
    title_en: 'Probe: an authenticated user without a profile reads rows',
  },
  PROBE_NOPROFILE_WRITE: {
    severity: 'WARN',
    title_fr: 'Sonde : un utilisateur authentifié sans profil écrit',
    title_en: 'Probe: an authenticated user without a profile writes',
  },
} as const satisfies Record<string, CodeDef>;

export type FindingCode = keyof typeof FINDING_CODES;

export interface FindingText {
  detail: string;
  detail_en: string;
  fix: string;
  fix_en: string;
  severity?: Severity;
  meta?: Record<string, unknown>;
}

export function makeFinding(code: FindingCode, object: string, text: FindingText): Finding {
  const def: CodeDef = FINDING_CODES[code];
  const f: Finding = {
    code,
    severity: text.severity ?? def.severity,
    object,
    title_fr: def.title_fr,
    title_en: def.title_en,
    detail: text.detail,
    detail_en: text.detail_en,
    fix: text.fix,
    fix_en: text.fix_en,
  };
  if (text.meta) f.meta = text.meta;
  return f;
}

const SEVERITY_RANK: Record<Severity, number> = { ERROR: 0, WARN: 1, INFO: 2 };

/** Sorts findings by severity, then code, then object (stable, for diff-friendly reports). */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      a.code.localeCompare(b.code) ||
      a.object.localeCompare(b.object),
  );
}
