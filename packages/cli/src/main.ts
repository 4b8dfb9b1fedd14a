import { ConfigError, scrub } from '@vigie/config';
import { commands } from './commands/index.js';
import { type Output, UsageError, createContext } from './context.js';

function help(io: Output, version: string): void {
  io.out(`vigie ${version} — surveillance d'intégrité et de sécurité pour ML_PP`);
  io.out('');
  io.out('Commandes :');
  const width = Math.max(...commands.map((c) => c.name.length));
  for (const c of commands) io.out(`  ${c.name.padEnd(width)}  ${c.summary}`);
  io.out('');
  io.out('Configuration par variables d’environnement (DATABASE_URL, APP_ENV, VIGIE_LANG…) : voir README.md.');
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure or findings, 2 usage, 78 configuration). */
export async function runCli(argv: string[], env: Record<string, string | undefined>, io: Output): Promise<number> {
  const ctx = createContext(env, io);
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      help(io, ctx.version);
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-v' || name === 'version') {
      io.out(`vigie ${ctx.version}`);
      return 0;
    }
    const cmd = commands.find((c) => c.name === name);
    if (!cmd) {
      io.err(`vigie : commande inconnue « ${name} ». Commandes : ${commands.map((c) => c.name).join(', ')}`);
      return 2;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`usage : ${cmd.usage}`);
      io.out(cmd.summary);
      return 0;
    }
    return await cmd.run(rest, ctx);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`vigie : ${err.message}`);
      return 78;
    }
    if (err instanceof UsageError || (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      io.err(`vigie ${name} : ${err.message}`);
      const cmd = commands.find((c) => c.name === name);
      if (cmd) io.err(`usage : ${cmd.usage}`);
      return 2;
    }
    let secrets: readonly string[] = [];
    try {
      secrets = ctx.config().secrets;
    } catch {
      /* config itself was the problem */
    }
    io.err(`vigie ${name} : échec : ${scrub(err instanceof Error ? err.message : String(err), secrets)}`);
    return 1;
  } finally {
    await ctx.close();
  }
}
