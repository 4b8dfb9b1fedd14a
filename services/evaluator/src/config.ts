import { ConfigError, type Env, baseFields, envVar, httpFields, loadConfig, optional, redisFields, withDefault } from '@vigie/config';
import { ThresholdError, type Thresholds, thresholdsFromEnv } from '@vigie/rules';
import { type SecuritySettings, securityEnvFields, securitySettingsFromEnv } from '@vigie/security';
import { z } from 'zod';

export const evaluatorShape = {
  ...baseFields,
  ...redisFields,
  ...httpFields(8082),
  ...securityEnvFields,
  VIGIE_SWEEP_INTERVAL_MS: envVar(withDefault(z.coerce.number().int().min(1_000).max(86_400_000), 300_000), {
    fix: 'VIGIE_SWEEP_INTERVAL_MS=300000 (5 minutes ; entre 1000 et 86400000)',
  }),
  VIGIE_SCHEDULE_CHECK_MS: envVar(withDefault(z.coerce.number().int().min(200).max(600_000), 30_000), {
    fix: 'VIGIE_SCHEDULE_CHECK_MS=30000 (vérification que la planification du balayage est toujours dans Redis ; entre 200 et 600000)',
  }),
  VIGIE_EVAL_CONCURRENCY: envVar(withDefault(z.coerce.number().int().min(1).max(64), 8), { fix: 'VIGIE_EVAL_CONCURRENCY=8 (1 à 64)' }),
  VIGIE_HISTORY_INTERVAL_MS: envVar(withDefault(z.coerce.number().int().min(0).max(60_000), 500), {
    fix: 'VIGIE_HISTORY_INTERVAL_MS=500 (règles d’historique de stock d’une citerne au plus toutes les N ms ; 0 = à chaque événement)',
  }),
  VIGIE_RULES: envVar(optional(z.string()), { fix: 'VIGIE_RULES={"RECEPTION_ECART_15C":{"max_ratio":0.05}} (voir docs/rules.md)' }),
};

export type EvaluatorConfig = ReturnType<typeof loadConfig<typeof evaluatorShape>> & { thresholds: Thresholds; security: SecuritySettings };

/** The evaluator's configuration; rule thresholds from VIGIE_RULES and VIGIE_RULE_<CODE>_<PARAM>. */
export function loadEvaluatorConfig(env: Env): EvaluatorConfig {
  const cfg = loadConfig(evaluatorShape, env);
  try {
    return Object.assign(cfg, { thresholds: thresholdsFromEnv(env), security: securitySettingsFromEnv(cfg) });
  } catch (err) {
    if (err instanceof ThresholdError) {
      const variable = err.message.split(' ')[0] ?? 'VIGIE_RULES';
      throw new ConfigError(`configuration invalide : ${err.message}`, [
        { variable, problem: err.message, fix: 'VIGIE_RULE_<CODE>_<SEUIL>=<nombre> ou VIGIE_RULES=<JSON> (voir docs/rules.md)' },
      ]);
    }
    throw err;
  }
}
