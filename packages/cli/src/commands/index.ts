import type { Command } from '../context.js';
import { alertsCommand } from './alerts.js';
import { auditCommand } from './audit.js';
import { digestCommand } from './digest.js';
import { doctorCommand } from './doctor.js';
import { lintCommand } from './lint.js';
import { migrateCommand } from './migrate.js';
import { securityCommand } from './security.js';
import { seedCommand } from './seed.js';
import { silenceCommand } from './silence.js';
import { sweepCommand } from './sweep.js';

/** Every `vigie` command, in the order `vigie --help` lists them. */
export const commands: Command[] = [migrateCommand, seedCommand, auditCommand, lintCommand, doctorCommand, sweepCommand, alertsCommand, silenceCommand, digestCommand, securityCommand];
