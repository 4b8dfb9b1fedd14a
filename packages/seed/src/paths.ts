import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the ML_PP reference database's files live in the repository (from src/ or dist/ alike). */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Numbered migration files of the ML_PP reference database (apply in name order, one transaction each). */
export const MLPP_MIGRATIONS_DIR = resolve(repoRoot, 'infra/mlpp/migrations');

/** Fixtures that are not migrations, e.g. pre_hardening_policies.sql. */
export const MLPP_FIXTURES_DIR = resolve(repoRoot, 'infra/mlpp/fixtures');
