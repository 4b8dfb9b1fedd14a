/**
 * The integrity rule catalogue. Each rule is defined once, in SQL
 * (infra/vigie/migrations/0003_integrity_rules.sql), inside one of three
 * families that share a pass over the data; this catalogue says what each
 * rule is, what triggers it and how its alerts are keyed. docs/rules.md is
 * the human contract.
 */

export type Severity = 'CRITICAL' | 'WARN';
export type RuleFamily = 'stock' | 'movements' | 'cdr';
/** How a rule's alert is keyed (system_alerts.entity_type / entity_id). */
export type AlertKey =
  /** entity_id = the tank id. */
  | 'citerne'
  /** entity_id = vigie.stock_key(tank, owner): md5('CITERNE_STOCK:<tank>:<owner>')::uuid. */
  | 'citerne_owner'
  /** entity_id = the reception or sortie id. */
  | 'movement'
  /** entity_id = the cours de route id. */
  | 'cdr';

export type OutboxKind =
  | 'reception.created'
  | 'sortie.created'
  | 'adjustment.created'
  | 'cdr.created'
  | 'cdr.status_changed'
  | 'citerne.changed';

export interface RuleSpec {
  code: string;
  severity: Severity;
  family: RuleFamily;
  /** Always 'integrity' here; security rules live elsewhere. */
  kind: 'integrity';
  /** system_alerts.entity_type of its findings. */
  entityTypes: readonly string[];
  key: AlertKey;
  /** ML_PP's defaults; every one can be overridden (VIGIE_RULE_<CODE>_<PARAM> or VIGIE_RULES). */
  defaults: Readonly<Record<string, number>>;
  /** Outbox events whose scope re-evaluates this rule. */
  triggers: readonly OutboxKind[];
  /** The one-rule SQL wrapper (the family function does the work). */
  sqlFunction: string;
  /** A deadline rule: a delayed deadline.check job is scheduled for the moment it falls due. */
  deadline: boolean;
  /** Is it one of ML_PP's V1 codes (v_integrity_checks)? */
  v1: boolean;
}

const STOCK_EVENTS = ['reception.created', 'sortie.created', 'adjustment.created', 'citerne.changed'] as const;
const MOVEMENT_EVENTS = ['reception.created', 'sortie.created', 'adjustment.created'] as const;
const CDR_EVENTS = ['cdr.created', 'cdr.status_changed'] as const;

function rule(spec: Omit<RuleSpec, 'kind' | 'sqlFunction'>): RuleSpec {
  return { ...spec, kind: 'integrity', sqlFunction: `vigie.rule_${spec.code.toLowerCase()}` };
}

export const RULES: readonly RuleSpec[] = [
  rule({ code: 'STOCK_NEGATIF', severity: 'CRITICAL', family: 'stock', entityTypes: ['CITERNE_STOCK'], key: 'citerne_owner',
    defaults: { tolerance_l: 0.01 }, triggers: STOCK_EVENTS, deadline: false, v1: true }),
  rule({ code: 'STOCK_OVER_CAPACITY', severity: 'CRITICAL', family: 'stock', entityTypes: ['CITERNE_STOCK'], key: 'citerne',
    defaults: { tolerance_l: 0 }, triggers: STOCK_EVENTS, deadline: false, v1: true }),
  rule({ code: 'CDR_ARRIVE_STALE', severity: 'WARN', family: 'cdr', entityTypes: ['CDR'], key: 'cdr',
    defaults: { max_age_hours: 48 }, triggers: CDR_EVENTS, deadline: true, v1: true }),
  rule({ code: 'RECEPTION_ECART_15C', severity: 'WARN', family: 'movements', entityTypes: ['RECEPTION'], key: 'movement',
    defaults: { max_ratio: 0.05 }, triggers: MOVEMENT_EVENTS, deadline: false, v1: true }),
  rule({ code: 'SORTIE_ECART_15C', severity: 'WARN', family: 'movements', entityTypes: ['SORTIE'], key: 'movement',
    defaults: { max_ratio: 0.05 }, triggers: MOVEMENT_EVENTS, deadline: false, v1: true }),
  rule({ code: 'SORTIE_STOCK_INSUFFISANT', severity: 'CRITICAL', family: 'stock', entityTypes: ['SORTIE'], key: 'movement',
    defaults: { tolerance_l: 0.5 }, triggers: STOCK_EVENTS, deadline: false, v1: false }),
  rule({ code: 'CITERNE_INACTIVE_USED', severity: 'CRITICAL', family: 'movements', entityTypes: ['RECEPTION', 'SORTIE'], key: 'movement',
    defaults: {}, triggers: MOVEMENT_EVENTS, deadline: false, v1: false }),
  rule({ code: 'STOCK_DRIFT', severity: 'CRITICAL', family: 'stock', entityTypes: ['CITERNE_STOCK'], key: 'citerne_owner',
    defaults: { tolerance_l: 1 }, triggers: STOCK_EVENTS, deadline: false, v1: false }),
  rule({ code: 'JOURNAL_MISSING', severity: 'WARN', family: 'stock', entityTypes: ['CITERNE_STOCK'], key: 'citerne_owner',
    defaults: {}, triggers: STOCK_EVENTS, deadline: false, v1: false }),
  rule({ code: 'OWNER_MIXING', severity: 'CRITICAL', family: 'movements', entityTypes: ['RECEPTION', 'SORTIE'], key: 'movement',
    defaults: {}, triggers: MOVEMENT_EVENTS, deadline: false, v1: false }),
  rule({ code: 'PRODUCT_MIXING', severity: 'CRITICAL', family: 'stock', entityTypes: ['CITERNE'], key: 'citerne',
    defaults: { tolerance_l: 1 }, triggers: STOCK_EVENTS, deadline: false, v1: false }),
  rule({ code: 'SORTIE_INCOHERENTE', severity: 'WARN', family: 'movements', entityTypes: ['SORTIE'], key: 'movement',
    defaults: { index_tolerance_l: 0.5, volume_tolerance_l: 1, max_future_hours: 24, max_backdate_days: 31 },
    triggers: MOVEMENT_EVENTS, deadline: false, v1: false }),
  rule({ code: 'CDR_BLOCKED', severity: 'WARN', family: 'cdr', entityTypes: ['CDR'], key: 'cdr',
    defaults: { chargement_hours: 72, transit_hours: 240, frontiere_hours: 120 }, triggers: CDR_EVENTS, deadline: true, v1: false }),
];

export const RULE_CODES: readonly string[] = RULES.map((r) => r.code);

export function ruleByCode(code: string): RuleSpec | undefined {
  return RULES.find((r) => r.code === code);
}

/** Threshold overrides per rule code: { CODE: { param: value } }. */
export type Thresholds = Record<string, Record<string, number>>;

/** The defaults of every rule, the shape vigie.rule_defaults() returns. */
export function defaultThresholds(): Thresholds {
  return Object.fromEntries(RULES.map((r) => [r.code, { ...r.defaults }]));
}

export class ThresholdError extends Error {
  readonly code = 'VIGIE_THRESHOLD_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ThresholdError';
  }
}

/**
 * Threshold overrides from an environment-like map: `VIGIE_RULES` (JSON
 * `{ "CODE": { "param": n } }`) then `VIGIE_RULE_<CODE>_<PARAM>=n` (wins).
 * Unknown codes or parameters and non-numbers are refused.
 */
export function thresholdsFromEnv(env: Record<string, string | undefined>): Thresholds {
  const out: Thresholds = {};
  const set = (code: string, param: string, value: unknown, origin: string) => {
    const r = ruleByCode(code);
    if (!r) throw new ThresholdError(`${origin} : règle inconnue ${code} (connues : ${RULE_CODES.join(', ')})`);
    if (!(param in r.defaults)) throw new ThresholdError(`${origin} : ${code} n'a pas de seuil « ${param} » (seuils : ${Object.keys(r.defaults).join(', ') || 'aucun'})`);
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    if (!Number.isFinite(n) || n < 0) throw new ThresholdError(`${origin} : ${code}.${param} doit être un nombre positif`);
    out[code] = { ...(out[code] ?? {}), [param]: n };
  };
  const json = env.VIGIE_RULES?.trim();
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new ThresholdError('VIGIE_RULES : JSON invalide (attendu {"CODE": {"seuil": nombre}})');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ThresholdError('VIGIE_RULES : objet attendu');
    for (const [code, params] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof params !== 'object' || params === null) throw new ThresholdError(`VIGIE_RULES : ${code} doit être un objet`);
      for (const [p, v] of Object.entries(params as Record<string, unknown>)) set(code, p, v, 'VIGIE_RULES');
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('VIGIE_RULE_') || value === undefined) continue;
    const rest = name.slice('VIGIE_RULE_'.length);
    const r = [...RULES].sort((a, b) => b.code.length - a.code.length).find((x) => rest.startsWith(`${x.code}_`));
    if (!r) throw new ThresholdError(`${name} : règle inconnue (forme VIGIE_RULE_<CODE>_<SEUIL>, codes : ${RULE_CODES.join(', ')})`);
    set(r.code, rest.slice(r.code.length + 1).toLowerCase(), value, name);
  }
  return out;
}
