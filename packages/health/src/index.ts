import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  /** A number or short value shown to monitoring (lag in ms, depth...). Never a secret. */
  observedValue?: number | string | boolean | null;
  observedUnit?: string;
  output?: string;
}

export interface ReadinessCheck {
  name: string;
  /** A failing critical check makes /ready answer 503; a non-critical one only warns. */
  critical: boolean;
  run: () => Promise<CheckResult>;
}

export interface HealthOptions {
  serviceId: string;
  version: string;
  release: string;
  env: string;
  checks: ReadinessCheck[];
  registry?: Registry;
  /** Per-check timeout in ms (default 2000). */
  timeoutMs?: number;
  /** Retry-After seconds on 503 (default 5). */
  retryAfterSeconds?: number;
  /** Text scrubber applied to every check output (secrets). */
  scrub?: (s: string) => string;
}

export interface ReadinessReport {
  status: CheckStatus;
  checks: Record<string, CheckResult & { critical: boolean; durationMs: number }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    health: {
      readiness: () => Promise<ReadinessReport>;
      registry: Registry;
    };
  }
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'fail', output: `délai dépassé (${timeoutMs} ms)` }), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([check.run(), timeout]);
  } catch (err) {
    return { status: 'fail', output: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs checks concurrently, each bounded by timeoutMs: "fail" when a critical
 * check fails, "warn" when any other does not pass. Outputs are scrubbed.
 */
export async function runChecks(
  checks: readonly ReadinessCheck[],
  opts: { timeoutMs?: number; scrub?: (s: string) => string } = {},
): Promise<ReadinessReport> {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const scrub = opts.scrub ?? ((s: string) => s);
  const entries = await Promise.all(
    checks.map(async (c) => {
      const t0 = performance.now();
      const r = await runCheck(c, timeoutMs);
      const out = { ...r, ...(r.output ? { output: scrub(r.output) } : {}), critical: c.critical, durationMs: Math.round(performance.now() - t0) };
      return [c.name, out] as const;
    }),
  );
  let status: CheckStatus = 'pass';
  for (const [, r] of entries) {
    if (r.status === 'fail' && r.critical) status = 'fail';
    else if (r.status !== 'pass' && status === 'pass') status = 'warn';
  }
  return { status, checks: Object.fromEntries(entries) };
}

const plugin: FastifyPluginAsync<HealthOptions> = async (app: FastifyInstance, opts) => {
  if (!opts.serviceId) throw new Error('@vigie/health: serviceId is required');
  if (!opts.release) throw new Error('@vigie/health: release is required');
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const retryAfter = String(opts.retryAfterSeconds ?? 5);
  const scrub = opts.scrub ?? ((s: string) => s);
  const registry = opts.registry ?? new Registry();
  if (!opts.registry) collectDefaultMetrics({ register: registry });
  registry.setDefaultLabels({ service: opts.serviceId, env: opts.env, release: opts.release });
  const started = Date.now();

  const readiness = (): Promise<ReadinessReport> => runChecks(opts.checks, { timeoutMs, scrub });

  app.decorate('health', { readiness, registry });

  const base = () => ({ serviceId: opts.serviceId, version: opts.version, releaseId: opts.release, env: opts.env });

  // Liveness: never touches a dependency.
  app.get('/health', { logLevel: 'silent' }, async (_req, reply) => {
    reply.header('content-type', 'application/health+json; charset=utf-8').header('cache-control', 'no-store');
    return { status: 'pass', ...base(), description: `vigie ${opts.serviceId}`, checks: { 'uptime': [{ observedValue: Math.round((Date.now() - started) / 1000), observedUnit: 's', status: 'pass' }] } };
  });

  app.get('/ready', { logLevel: 'silent' }, async (_req, reply) => {
    const report = await readiness();
    reply.header('content-type', 'application/health+json; charset=utf-8').header('cache-control', 'no-store');
    if (report.status === 'fail') reply.code(503).header('retry-after', retryAfter);
    return { status: report.status, ...base(), checks: report.checks };
  });

  app.get('/metrics', { logLevel: 'silent' }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
};

/** Readiness of the service's Postgres pool: a `select 1` goes through. */
export function postgresCheck(pool: { query: (sql: string) => Promise<unknown> }): ReadinessCheck {
  return {
    name: 'postgres',
    critical: true,
    run: async () => {
      await pool.query('select 1');
      return { status: 'pass' };
    },
  };
}

/** Readiness of the service's Redis connection: PING answers. */
export function redisCheck(redis: { ping: () => Promise<unknown> }): ReadinessCheck {
  return {
    name: 'redis',
    critical: true,
    run: async () => {
      await redis.ping();
      return { status: 'pass' };
    },
  };
}

/** Health, readiness and metrics endpoints for every Vigie service. */
export const healthPlugin = fp(plugin, { name: '@vigie/health', fastify: '5.x' });
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
