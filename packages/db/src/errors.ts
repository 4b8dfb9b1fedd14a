/** An applied migration's file no longer matches what was applied. */
export class MigrationEditedError extends Error {
  readonly code = 'VIGIE_MIGRATION_EDITED';
  constructor(
    readonly set: string,
    readonly file: string,
    readonly appliedChecksum: string,
    readonly fileChecksum: string,
  ) {
    super(
      `la migration ${set}/${file} a été modifiée après son application (somme de contrôle appliquée ${appliedChecksum.slice(0, 12)}, fichier ${fileChecksum.slice(0, 12)}). ` +
        'Une migration appliquée ne se modifie jamais : remettez le fichier tel quel et écrivez une nouvelle migration.',
    );
    this.name = 'MigrationEditedError';
  }
}

/** A migration failed to apply; its transaction was rolled back. */
export class MigrationFailedError extends Error {
  readonly code = 'VIGIE_MIGRATION_FAILED';
  constructor(
    readonly set: string,
    readonly file: string,
    cause: unknown,
  ) {
    super(`échec de la migration ${set}/${file} : ${cause instanceof Error ? cause.message : String(cause)} (rien n'a été appliqué pour ce fichier)`, { cause });
    this.name = 'MigrationFailedError';
  }
}
