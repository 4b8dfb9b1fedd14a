import { z } from 'zod';
import { ConfigError } from './errors.js';
import { varMeta } from './fields.js';
import { readBuildRelease } from './release.js';

export type Env = Record<string, string | undefined>;

export interface Loaded {
  APP_ENV: 'local' | 'staging' | 'production';
  APP_RELEASE?: string | undefined;
}

/** Secret values of a parsed config, used to scrub logs, errors and health output. */
export function secretValues(shape: z.ZodRawShape, parsed: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    if (!varMeta.get(schema as z.ZodType)?.secret) continue;
    const value = parsed[key];
    if (typeof value !== 'string' || value.length < 4) continue;
    out.push(value);
    // A URL's password is a secret of its own: it may be printed without the rest.
    try {
      const u = new URL(value);
      if (u.password) out.push(decodeURIComponent(u.password), u.password);
    } catch {
      /* not a URL */
    }
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of the given secrets in `text`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[secret]');
  return out;
}

/**
 * Parses the environment against a service's schema. Throws ConfigError whose
 * message is one line naming every wrong variable and its fix.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Env,
  refine?: (cfg: z.infer<z.ZodObject<S>>) => Array<{ variable: string; problem: string; fix: string }>,
): z.infer<z.ZodObject<S>> & { readonly secrets: readonly string[]; APP_RELEASE: string } {
  const schema = z.object(shape);
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) input[key] = env[key];
  const result = schema.safeParse(input);
  const issues: Array<{ variable: string; problem: string; fix: string }> = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? '?');
      const meta = varMeta.get(shape[variable] as z.ZodType);
      const problem = issue.code === 'invalid_type' && input[variable] === undefined ? 'requis' : issue.message;
      issues.push({ variable, problem, fix: meta?.fix ?? `définissez ${variable}` });
    }
  } else {
    const cfg = result.data as z.infer<z.ZodObject<S>> & Loaded;
    if (!cfg.APP_RELEASE) {
      const built = readBuildRelease();
      if (built) cfg.APP_RELEASE = built;
      else if (cfg.APP_ENV === 'production')
        issues.push({ variable: 'APP_RELEASE', problem: 'requis en production', fix: 'APP_RELEASE=<sha git ou tag du build>' });
      else cfg.APP_RELEASE = 'dev';
    }
    if (refine) issues.push(...refine(cfg));
  }
  if (issues.length > 0) {
    const line = issues.map((i) => `${i.variable} ${i.problem} → ${i.fix}`).join(' ; ');
    throw new ConfigError(`configuration invalide : ${line}`, issues);
  }
  const data = result.data as Record<string, unknown>;
  Object.defineProperty(data, 'secrets', { value: secretValues(shape, data), enumerable: false });
  return data as never;
}

/**
 * The service entry points' way in: on a bad environment, print one line on
 * stderr and exit with code 78 (EX_CONFIG).
 */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigie-${service}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/** A printable copy of a config with every secret replaced. */
export function redacted(cfg: Record<string, unknown> & { secrets?: readonly string[] }): Record<string, unknown> {
  const secrets = cfg.secrets ?? [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) out[k] = typeof v === 'string' ? scrub(v, secrets) : v;
  return out;
}
