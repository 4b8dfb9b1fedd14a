import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationSetName } from './migrate.js';

/**
 * Where the two migration sets live: `infra/mlpp/migrations` (the ML_PP
 * reference database, for dev, tests, demo and benchmarks) and
 * `infra/vigie/migrations` (what installs on ML_PP's real database).
 * Found by walking up from this module to the repository root; VIGIE_HOME
 * (passed in by the caller) wins when set.
 */
export function migrationsDir(set: MigrationSetName, home?: string): string {
  const root = home ?? repoRoot();
  return join(root, 'infra', set === 'reference' ? 'mlpp' : 'vigie', 'migrations');
}

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'infra')) && existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'packages'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error("racine du dépôt Vigie introuvable (dossier infra/) : définissez VIGIE_HOME");
}
