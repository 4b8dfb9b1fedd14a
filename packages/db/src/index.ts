export { MigrationEditedError, MigrationFailedError } from './errors.js';
export { migrate, migrationStatus, readMigrations, type MigrateResult, type MigrationFile, type MigrationSetName, type MigrationStatus } from './migrate.js';
export { migrationsDir, repoRoot } from './paths.js';
export { createPool, withTransaction, type PoolOptions } from './pool.js';
