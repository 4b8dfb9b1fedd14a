import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  env: string;
  release: string;
  level: string;
  /** Secret values to scrub from every line, whatever field they end up in. */
  secrets?: readonly string[];
  /** Human-readable output (dev only). JSON otherwise. */
  pretty?: boolean;
  /** Where to write (defaults to stdout). */
  destination?: NodeJS.WritableStream;
}

/**
 * The one logger factory: JSON lines carrying service, env and release, with
 * secrets scrubbed at the last moment (after serialisation), so a secret that
 * slips into an error message or a URL never reaches the output.
 */
export function createLogger(cfg: LoggerConfig): Logger {
  const secrets = (cfg.secrets ?? []).filter((s) => s.length >= 4);
  const options: LoggerOptions = {
    level: cfg.level,
    base: { service: cfg.service, env: cfg.env, release: cfg.release },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization', 'headers.authorization', '*.connectionString'],
      censor: '[secret]',
    },
    hooks: secrets.length
      ? {
          streamWrite(line: string): string {
            let out = line;
            for (const s of secrets) out = out.split(s).join('[secret]');
            return out;
          },
        }
      : {},
  };
  if (cfg.pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
    });
  }
  return cfg.destination ? pino(options, cfg.destination as never) : pino(options);
}
