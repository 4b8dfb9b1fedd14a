export {
  ACCESS_EVENT_KINDS,
  SECURITY_CHECK_CODES,
  SECURITY_RULES,
  SENSITIVE_AUTH_ACTIONS,
  SUSPICIOUS_ACCESS_KINDS,
  isSecurityCheckCode,
  securityRule,
  type AccessEventKind,
  type FactsByCode,
  type JournalSource,
  type Lang,
  type SecurityCheckCode,
  type SecurityRuleDef,
  type Severity,
  type ThresholdDoc,
} from './catalogue.js';
export { formatWindow } from './collect.js';
export { SECURITY_EVENT_KINDS, handleSecurityEvent } from './handle.js';
export { toFinding } from './journal.js';
export {
  DEFAULT_SECURITY_SETTINGS,
  DEFAULT_WORKING_HOURS,
  SecuritySettingsError,
  formatRate,
  parseRate,
  parseWorkingHours,
  securityEnvFields,
  securitySettings,
  securitySettingsFromEnv,
  type RateRule,
  type SecurityEnv,
  type SecuritySettings,
  type WorkingHoursSegment,
} from './settings.js';
export { SecuritySweepError, securitySweep, type SecuritySweepResult } from './sweep.js';
export type { SecurityAlertPayload, SecurityEvent, SecurityFinding, SecurityResult } from './types.js';
