import { readFileSync } from 'node:fs';
import { type Env, baseFields, loadConfig } from '@vigie/config';
import { readBuildRelease } from '@vigie/config';
import pg from 'pg';

export interface Output {
  out: (line?: string) => void;
  err: (line?: string) => void;
}

/** What every command receives: the environment, output, and a way to reach Postgres. */
export interface CommandContext extends Output {
  env: Env;
  /** Loads the CLI's config (DATABASE_URL, APP_ENV…) or throws ConfigError. */
  config: () => ReturnType<typeof loadCliConfig>;
  /** A connected client on DATABASE_URL; closed by the runner. */
  db: () => Promise<pg.Client>;
  version: string;
}

export function loadCliConfig(env: Env) {
  return loadConfig(baseFields, env);
}

export function cliVersion(): { version: string; release: string } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return { version: pkg.version, release: readBuildRelease() ?? 'dev' };
}

/** A command's outcome: the process exit code. */
export type ExitCode = number;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run: (argv: string[], ctx: CommandContext) => Promise<ExitCode>;
}

/** Raised for bad command-line input: printed with the usage, exit 2. */
export class UsageError extends Error {
  readonly code = 'VIGIE_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function createContext(env: Env, io: Output): CommandContext & { close: () => Promise<void> } {
  const clients: pg.Client[] = [];
  let cfg: ReturnType<typeof loadCliConfig> | undefined;
  const { version, release } = cliVersion();
  return {
    ...io,
    env,
    version: `${version} (${release})`,
    config: () => {
      cfg ??= loadCliConfig(env);
      return cfg;
    },
    db: async () => {
      cfg ??= loadCliConfig(env);
      const c = new pg.Client({ connectionString: cfg.DATABASE_URL, application_name: 'vigie-cli' });
      await c.connect();
      clients.push(c);
      return c;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    },
  };
}
