import { parseArgs } from 'node:util';
import { lintExitCode, lintMigrations, readMigrationFiles, renderLintText } from '@vigie/audit';
import { type Command, UsageError } from '../context.js';

export const lintCommand: Command = {
  name: 'lint',
  summary: 'analyse des migrations SQL (vrai parseur Postgres) : politiques publiques, RLS désactivée, changements destructifs',
  usage: 'vigie lint migrations <fichiers|dossier>… [--json]',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub !== 'migrations') throw new UsageError('sous-commande attendue : migrations');
    const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new UsageError('indiquez au moins un fichier .sql ou un dossier');
    const files = await readMigrationFiles(positionals);
    const lang = ctx.env.VIGIE_LANG === 'en' ? 'en' : 'fr';
    const result = await lintMigrations(files);
    ctx.out(values.json ? JSON.stringify(result, null, 2) : renderLintText(result, lang));
    return lintExitCode(result);
  },
};
