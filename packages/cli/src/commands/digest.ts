import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../context.js';

/** The notifier's entry point for `vigie digest --now` (services/notifier/src/cli.ts). */
interface NotifierCli {
  digestNow(opts: { env: Record<string, string | undefined>; period: 'daily' | 'weekly'; out: (line?: string) => void }): Promise<number>;
}

// Loaded at run time: the notifier is built after the CLI by the workspace
// graph (the CLI does not declare it), and only this command needs it.
const NOTIFIER_CLI = '@vigie/notifier/cli';

export const digestCommand: Command = {
  name: 'digest',
  summary: 'envoie maintenant la synthèse (quotidienne ou hebdomadaire) par les canaux configurés ou le puits local',
  usage: 'vigie digest --now [--period daily|weekly]',
  async run(argv, ctx) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { now: { type: 'boolean' }, period: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length) throw new UsageError(`argument inattendu : ${positionals.join(' ')}`);
    if (!values.now)
      throw new UsageError('--now requis : les synthèses planifiées partent seules à VIGIE_DIGEST_HOUR (heure locale VIGIE_TZ) via le notifier');
    const period = values.period ?? 'daily';
    if (period !== 'daily' && period !== 'weekly') throw new UsageError(`--period attend daily ou weekly, pas « ${period} »`);
    ctx.config();
    const mod = (await import(NOTIFIER_CLI)) as NotifierCli;
    return mod.digestNow({ env: ctx.env, period, out: ctx.out });
  },
};
