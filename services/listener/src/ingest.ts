import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';

/**
 * POST /v1/access-events: what Postgres never sees (failed logins, 401/403
 * from the API gateway or Supabase log drains, app-side denials), ingested
 * into vigie.access_events. Contract: docs/contracts/access-events.md.
 *
 * Order of checks (each answers with a precise 4xx and writes nothing):
 * disabled (503) → rate limit per client address (429) → bearer token (401,
 * constant-time) → Content-Type (415) → body size (413) → JSON (400) → batch
 * size (413) → schema (400, naming the field and the index) → one atomic
 * database call (202; 200 for a replayed Idempotency-Key).
 */

export interface IngestOptions {
  /** The bearer token; undefined disables the endpoint (503 with a clear message). */
  token: string | undefined;
  pool: pg.Pool;
  /** Most events per batch (default 500; at most 10000). */
  maxBatch?: number;
  /** Largest body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Requests per minute per client address (default 600). */
  ratePerMinute?: number;
  /**
   * Where the request counts live: with a Redis client, shared by every
   * listener replica (under `<rateLimitPrefix>:ingest-rate:`); without one, in
   * this process only.
   */
  redis?: Redis;
  rateLimitPrefix?: string;
}

export const INGEST_DEFAULTS = { maxBatch: 500, maxBodyBytes: 1_048_576, ratePerMinute: 600 } as const;
export const INGEST_PATH = '/v1/access-events';

/** Same list as the CHECK of vigie.access_events.kind (infra/vigie/migrations/0005_security.sql). */
export const ACCESS_EVENT_KINDS = [
  'login_failed',
  'login_succeeded',
  'logout',
  'http_401',
  'http_403',
  'http_429',
  'app_denied',
  'password_reset_requested',
  'mfa_failed',
] as const;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const STATUS_OF_KIND: Partial<Record<(typeof ACCESS_EVENT_KINDS)[number], number>> = { http_401: 401, http_403: 403, http_429: 429 };

const MAX_AGE_MS = 30 * 86_400_000;
const MAX_SKEW_MS = 5 * 60_000;
const DETAILS_MAX_BYTES = 4096;
const DETAILS_MAX_DEPTH = 8;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Postgres text and jsonb refuse NUL and unpaired UTF-16 surrogates. */
function hasBadChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return true;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export interface IngestErrorBody {
  error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
}

const text = (max: number, what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !hasBadChars(s), 'contains a NUL character or an unpaired surrogate');

/** A plain JSON object, shallow enough and small enough, checked without recursion. */
function checkDetails(v: unknown): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'must be a JSON object';
  const stack: Array<{ v: unknown; depth: number }> = [{ v, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v: cur, depth } = stack.pop() as { v: unknown; depth: number };
    if (++nodes > 2000) return 'has too many values (at most 2000)';
    if (typeof cur === 'string') {
      if (hasBadChars(cur)) return 'contains a NUL character or an unpaired surrogate';
      continue;
    }
    if (cur === null || typeof cur !== 'object') continue;
    if (depth > DETAILS_MAX_DEPTH) return `is nested too deeply (at most ${DETAILS_MAX_DEPTH} levels)`;
    const entries = Array.isArray(cur) ? cur.map((x) => ['', x] as const) : Object.entries(cur);
    for (const [k, child] of entries) {
      if (hasBadChars(k)) return 'has a key with a NUL character or an unpaired surrogate';
      stack.push({ v: child, depth: depth + 1 });
    }
  }
  if (Buffer.byteLength(JSON.stringify(v)) > DETAILS_MAX_BYTES) return `is larger than ${DETAILS_MAX_BYTES} bytes once serialised`;
  return null;
}

const eventSchema = z
  .strictObject(
    {
      at: z
        .iso
        .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-04-17T08:15:00Z' })
        .refine((v) => {
          const t = Date.parse(v);
          return Number.isFinite(t) && t >= Date.now() - MAX_AGE_MS && t <= Date.now() + MAX_SKEW_MS;
        }, 'must be within the last 30 days and at most 5 minutes in the future'),
      kind: z.enum(ACCESS_EVENT_KINDS, { error: `must be one of ${ACCESS_EVENT_KINDS.join(', ')}` }),
      user_id: z.string({ error: 'must be a UUID string' }).regex(UUID_RE, 'must be a UUID').nullish(),
      email: text(320, 'the identifier used to sign in')
        .refine((s) => s.trim().length > 0, 'must not be empty')
        .refine((s) => !hasControlChars(s), 'must not contain control characters')
        .nullish(),
      role: z.string({ error: 'must be a string' }).regex(/^[a-z_]{1,40}$/, 'must be a role name: lowercase letters and _ (1 to 40)').nullish(),
      ip: z
        .string({ error: 'must be a string' })
        .max(45, 'must be an IPv4 or IPv6 address')
        .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address (no port, no mask, no zone)')
        .nullish(),
      user_agent: text(512, 'the User-Agent header').nullish(),
      path: text(2048, 'the request path').nullish(),
      method: z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }).nullish(),
      status: z.int({ error: 'must be an integer HTTP status' }).min(100, 'must be between 100 and 599').max(599, 'must be between 100 and 599').nullish(),
      details: z
        .unknown()
        .superRefine((v, ctx) => {
          if (v === undefined || v === null) return;
          const problem = checkDetails(v);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
    },
    { error: 'must be an object' },
  )
  .superRefine((e, ctx) => {
    if (!e.user_id && !e.email && !e.ip) ctx.addIssue({ code: 'custom', message: 'needs at least one of user_id, email, ip', path: [] });
    const expected = STATUS_OF_KIND[e.kind];
    if (expected !== undefined && e.status != null && e.status !== expected)
      ctx.addIssue({ code: 'custom', message: `must be ${expected} for kind ${e.kind}`, path: ['status'] });
  });

const batchSchema = z.strictObject(
  {
    events: z.array(eventSchema, { error: 'must be an array of events' }).min(1, 'must contain at least one event'),
  },
  { error: 'the body must be a JSON object {"events": [...]}' },
);

type AccessEvent = z.infer<typeof eventSchema>;

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(body)' : out;
}

function issuesToDetails(issues: ReadonlyArray<z.core.$ZodIssue>): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') for (const k of i.keys) out.push({ path: formatPath([...i.path, k]), message: 'unknown field' });
    else out.push({ path: formatPath(i.path), message: i.message });
  }
  return out;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: IngestErrorBody['error']['details']): FastifyReply {
  const body: IngestErrorBody = { error: { code, message, ...(details?.length ? { details: details.slice(0, 50) } : {}) } };
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The access-events ingestion route (registered by buildApp). */
export const ingestRoutes: FastifyPluginAsync<IngestOptions> = async (app: FastifyInstance, opts) => {
  if (!opts.pool) throw new Error('ingestRoutes: pool is required');
  const maxBatch = opts.maxBatch ?? INGEST_DEFAULTS.maxBatch;
  const maxBodyBytes = opts.maxBodyBytes ?? INGEST_DEFAULTS.maxBodyBytes;
  const ratePerMinute = opts.ratePerMinute ?? INGEST_DEFAULTS.ratePerMinute;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 10_000) throw new Error('ingestRoutes: maxBatch must be between 1 and 10000');
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) throw new Error('ingestRoutes: maxBodyBytes must be at least 1024');
  if (!Number.isInteger(ratePerMinute) || ratePerMinute < 1) throw new Error('ingestRoutes: ratePerMinute must be at least 1');
  if (opts.token !== undefined && opts.token.length < 32) throw new Error('ingestRoutes: token must be at least 32 characters');
  const expected = opts.token ? digest(opts.token) : null;

  await app.register(rateLimit, {
    global: false,
    // Shared across replicas when Redis is given; a Redis outage lets requests through (events are in PostgreSQL).
    ...(opts.redis ? { redis: opts.redis, nameSpace: `${opts.rateLimitPrefix ?? 'vigie'}:ingest-rate:`, skipOnError: true } : {}),
  });
  const limiter = app.createRateLimit({ max: ratePerMinute, timeWindow: 60_000, keyGenerator: (req) => req.ip });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'VIGIE_INGEST_TOO_LARGE', `the body is larger than ${maxBodyBytes} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, 'VIGIE_INGEST_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'VIGIE_INGEST_MALFORMED', 'the body is empty (expected {"events": [...]})');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'VIGIE_INGEST_MALFORMED', 'the body is not valid JSON (or carries a __proto__ / constructor.prototype key)');
      default:
        break;
    }
    if (err instanceof RangeError) return sendError(reply, 400, 'VIGIE_INGEST_MALFORMED', 'the body is nested too deeply');
    if (err instanceof SyntaxError || (status === 400 && /JSON|prototype|property/i.test(err.message)))
      return sendError(reply, 400, 'VIGIE_INGEST_MALFORMED', `the body is not acceptable JSON: ${err.message.slice(0, 200)}`);
    if (status >= 400 && status < 500) return sendError(reply, status, 'VIGIE_INGEST_BAD_REQUEST', err.message.slice(0, 300));
    req.log.error({ err }, 'ingestion des événements d’accès : erreur interne');
    return sendError(reply, 500, 'VIGIE_INGEST_INTERNAL', 'internal error');
  });

  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!expected)
      return sendError(reply, 503, 'VIGIE_INGEST_DISABLED', 'access-event ingestion is disabled: VIGIE_INGEST_TOKEN is not set on the listener');
    const limit = await limiter(req);
    // isAllowed means "on the allow list"; the verdict is isExceeded.
    if (!limit.isAllowed && limit.isExceeded) {
      reply.header('retry-after', String(Math.max(1, limit.ttlInSeconds))).header('x-ratelimit-limit', String(limit.max)).header('x-ratelimit-remaining', '0');
      return sendError(reply, 429, 'VIGIE_INGEST_RATE_LIMITED', `rate limit exceeded: at most ${limit.max} requests per minute per client address`);
    }
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer +([\x21-\x7e]+) *$/i.exec(auth) : null;
    if (!m?.[1]) {
      reply.header('www-authenticate', 'Bearer realm="vigie-ingest"');
      return sendError(reply, 401, 'VIGIE_INGEST_UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <VIGIE_INGEST_TOKEN>)');
    }
    if (!timingSafeEqual(digest(m[1]), expected)) {
      reply.header('www-authenticate', 'Bearer realm="vigie-ingest", error="invalid_token"');
      return sendError(reply, 401, 'VIGIE_INGEST_UNAUTHORIZED', 'invalid bearer token');
    }
    const ct = req.headers['content-type'];
    const [media = '', ...params] = typeof ct === 'string' ? ct.split(';').map((s) => s.trim().toLowerCase()) : [];
    const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
    if (media !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8'))
      return sendError(reply, 415, 'VIGIE_INGEST_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json (UTF-8)');
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_RE.test(key)))
      return sendError(reply, 400, 'VIGIE_INGEST_INVALID', 'Idempotency-Key must be 1 to 128 characters among A-Z a-z 0-9 . _ : -', [
        { path: 'headers.idempotency-key', message: 'invalid' },
      ]);
    return undefined;
  };

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: INGEST_PATH,
    handler: async (_req, reply) => {
      reply.header('allow', 'POST');
      return sendError(reply, 405, 'VIGIE_INGEST_METHOD_NOT_ALLOWED', `use POST ${INGEST_PATH}`);
    },
  });

  app.post(INGEST_PATH, { bodyLimit: maxBodyBytes, onRequest: guard }, async (req, reply) => {
    const body = req.body as { events?: unknown } | null;
    if (body && typeof body === 'object' && Array.isArray(body.events) && body.events.length > maxBatch)
      return sendError(reply, 413, 'VIGIE_INGEST_BATCH_TOO_LARGE', `a batch holds at most ${maxBatch} events (got ${body.events.length})`, [
        { path: 'events', message: `at most ${maxBatch} events` },
      ]);
    const parsed = batchSchema.safeParse(body);
    if (!parsed.success) {
      const details = issuesToDetails(parsed.error.issues);
      const first = details[0];
      return sendError(
        reply,
        400,
        'VIGIE_INGEST_INVALID',
        `invalid batch: ${details.length} problem(s)${first ? `; first: ${first.path}: ${first.message}` : ''}; nothing was stored`,
        details,
      );
    }
    const events = parsed.data.events.map(normalise);
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
    try {
      const { rows } = await opts.pool.query<{ batch_id: string; accepted: number; duplicate: boolean }>(
        'select batch_id, accepted, duplicate from vigie.ingest_access_events($1::jsonb, $2)',
        [JSON.stringify(events), key],
      );
      const r = rows[0];
      if (!r) throw new Error('vigie.ingest_access_events returned no row');
      req.log.info({ batchId: r.batch_id, accepted: r.accepted, duplicate: r.duplicate }, 'événements d’accès reçus');
      return reply.code(r.duplicate ? 200 : 202).header('cache-control', 'no-store').send({ batch_id: r.batch_id, accepted: r.accepted, duplicate: r.duplicate });
    } catch (err) {
      const sqlstate = (err as { code?: unknown }).code;
      if (typeof sqlstate === 'string' && /^(22|23)/.test(sqlstate))
        return sendError(reply, 400, 'VIGIE_INGEST_REJECTED', `the database refused the batch (SQLSTATE ${sqlstate}); nothing was stored`);
      req.log.error({ err }, 'ingestion des événements d’accès : base indisponible');
      reply.header('retry-after', '5');
      return sendError(reply, 503, 'VIGIE_INGEST_UNAVAILABLE', 'the database is unavailable; retry later (nothing was stored)');
    }
  });
};

/** Drops absent values; emails are stored trimmed and lowercased. */
function normalise(e: AccessEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { at: e.at, kind: e.kind };
  if (e.user_id) out.user_id = e.user_id.toLowerCase();
  if (e.email) out.email = e.email.trim().toLowerCase();
  if (e.role) out.role = e.role;
  if (e.ip) out.ip = e.ip;
  if (e.user_agent) out.user_agent = e.user_agent;
  if (e.path) out.path = e.path;
  if (e.method) out.method = e.method;
  if (e.status != null) out.status = e.status;
  if (e.details != null) out.details = e.details;
  return out;
}
