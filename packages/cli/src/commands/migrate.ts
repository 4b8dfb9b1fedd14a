import { type MigrateResult, migrate, migrationsDir, readMigrations } from '@vigie/db';
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../context.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'applique les migrations (base de référence ML_PP si la base est vide, puis Vigie)',
  usage: 'vigie migrate [--reference] [--vigie-only]',
  async run(argv, ctx) {
    const { values } = parseArgs({ args: argv, options: { reference: { type: 'boolean' }, 'vigie-only': { type: 'boolean' } }, strict: true });
    if (values.reference && values['vigie-only']) throw new UsageError('--reference et --vigie-only sont incompatibles');
    const cfg = ctx.config();
    const client = await ctx.db();
    const { rows } = await client.query<{ mlpp: boolean; reference: boolean }>(
      `select to_regclass('public.receptions') is not null as mlpp,
              coalesce((select true from pg_tables where schemaname = 'vigie' and tablename = 'schema_migrations'), false) as reference`,
    );
    let hasReference = false;
    if (rows[0]?.reference) {
      const r = await client.query("select 1 from vigie.schema_migrations where migration_set = 'reference' limit 1");
      hasReference = (r.rowCount ?? 0) > 0;
    }
    const emptyDb = !rows[0]?.mlpp;
    const wantReference = !values['vigie-only'] && (values.reference || emptyDb || hasReference);
    if (wantReference && !hasReference && cfg.APP_ENV === 'production') {
      ctx.err('vigie migrate : refus d’installer la base de référence ML_PP en production (APP_ENV=production).');
      ctx.err('→ Vérifiez DATABASE_URL : elle doit pointer sur la base ML_PP réelle, qui contient public.receptions.');
      return 1;
    }
    if (!wantReference && emptyDb) {
      ctx.err('vigie migrate : la base ne contient pas les tables ML_PP (public.receptions absente).');
      ctx.err('→ Retirez --vigie-only pour installer la base de référence, ou vérifiez DATABASE_URL.');
      return 1;
    }
    const results: MigrateResult[] = [];
    const onApplied = (dir: string) => (m: { file: string }, ms: number) => ctx.out(`  ✓ ${dir}/${m.file} (${ms} ms)`);
    if (wantReference) {
      if (emptyDb) ctx.out('Base vide : installation de la base de référence ML_PP.');
      results.push(
        await migrate(client, 'reference', readMigrations(migrationsDir('reference')), { release: cfg.APP_RELEASE, onApplied: onApplied('mlpp') }),
      );
    }
    results.push(await migrate(client, 'vigie', readMigrations(migrationsDir('vigie')), { release: cfg.APP_RELEASE, onApplied: onApplied('vigie') }));
    for (const r of results) {
      const label = r.set === 'reference' ? 'référence ML_PP' : 'Vigie';
      ctx.out(`${label} : ${r.applied.length} migration(s) appliquée(s), ${r.alreadyApplied} déjà en place.`);
      if (r.unknownApplied.length)
        ctx.out(`  ⚠ migrations appliquées inconnues de cette version (version plus récente déployée ?) : ${r.unknownApplied.join(', ')}`);
    }
    return 0;
  },
};
