export { ASTM_DENSITY_RANGE, ASTM_TEMPERATURE_RANGE, volume15c, volumeCorrectionFactor } from './astm.js';
export type { AnomalyKind, InjectedAnomaly, InjectOptions, TouchedTable } from './anomalies.js';
export { ANOMALY_KINDS, injectAnomaly } from './anomalies.js';
export type { GenerateOptions, GenerateProgress, GenerateResult } from './generate.js';
export { generateOperations } from './generate.js';
export type {
  AdjustmentInput,
  CdrInput,
  CdrStatut,
  Owner,
  ReceptionInput,
  ReceptionRow,
  SortieInput,
  SortieRow,
} from './ops.js';
export {
  createCdr,
  insertAdjustment,
  insertReception,
  insertSortie,
  inTransaction,
  setCdrStatut,
  walkCdrToArrive,
} from './ops.js';
export { MLPP_FIXTURES_DIR, MLPP_MIGRATIONS_DIR } from './paths.js';
export { hash32, Prng } from './prng.js';
export type { ProfileRole, SeedCiterne, SeedUser } from './reference.js';
export {
  CITERNE_IDS,
  CITERNES,
  CLIENTS,
  DEPOT_ID,
  FOURNISSEURS,
  LOTS,
  PARTENAIRES,
  PRODUIT_ESS_ID,
  PRODUIT_GO_ID,
  seedReference,
  USERS,
} from './reference.js';
export type { ScenarioOutcome, ScenarioState } from './scenarios.js';
export { describeError, runScriptedSequence, SCENARIO_BASE_DATE, SCENARIO_IDS, scenarioState } from './scenarios.js';
