import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The routing policy: who gets what, by severity, rule family, rule code and
 * environment. Defaults (DESIGN.md): CRITICAL integrity → Slack ops + on-call
 * email; CRITICAL security → Slack security + security email; WARN → digest
 * and ML_PP's screen only. A JSON file (VIGIE_ROUTING_FILE) overrides any
 * section; its format is documented in docs/contracts/notifications.md.
 */

export type Severity = 'CRITICAL' | 'WARN';
export type Family = 'integrity' | 'security';
export type AppEnv = 'local' | 'staging' | 'production';
export type NotifyKind = 'opened' | 'reopened' | 'acknowledged' | 'resolved' | 'reminder';

const KINDS = ['opened', 'reopened', 'acknowledged', 'resolved', 'reminder'] as const;
const oneOrMany = <T extends z.ZodType>(s: T) => z.union([s, z.array(s)]).transform((v) => (Array.isArray(v) ? v : [v]) as Array<z.infer<T>>);

const matchSchema = z
  .object({
    severity: oneOrMany(z.enum(['CRITICAL', 'WARN'])).optional(),
    family: oneOrMany(z.enum(['integrity', 'security'])).optional(),
    env: oneOrMany(z.enum(['local', 'staging', 'production'])).optional(),
    /** Rule codes; `PREFIX*` matches a prefix. */
    checkCode: oneOrMany(z.string().regex(/^[A-Z0-9_]+\*?$/)).optional(),
    entityType: oneOrMany(z.string().min(1)).optional(),
  })
  .strict();

const routeSchema = z
  .object({
    name: z.string().min(1).max(80).optional(),
    match: matchSchema.default({}),
    /** Slack destinations: `ops`, `security`, `staging` (the configured channels) or channel ids. */
    slack: z.array(z.string().min(1)).default([]),
    /** Email destinations: `oncall`, `security`, `managers`, `directeur` (the configured lists) or addresses. */
    email: z.array(z.string().min(1)).default([]),
    /** Which transitions send an email (Slack follows every transition of a posted message). */
    emailOn: z.array(z.enum(KINDS)).default(['opened', 'reopened', 'resolved']),
    /** Keep looking for further matching routes (their destinations are added). */
    continue: z.boolean().default(false),
  })
  .strict();

const digestTargetSchema = z.object({ email: z.array(z.string().min(1)).default([]), slack: z.array(z.string().min(1)).default([]) }).strict();

const policySchema = z
  .object({
    /** A reopen this long after the resolution starts a new message (a new cycle); sooner, it updates the same one. */
    newCycleAfterHours: z.number().min(0).max(24 * 90).default(24),
    /** Reopened this many times within flapWindowMinutes: the alert is flapping. */
    flapThreshold: z.number().int().min(2).max(100).default(3),
    flapWindowMinutes: z.number().min(1).max(24 * 60).default(60),
    /** A storm group with at most this many held members sends them one by one; more → one grouped message. */
    stormIndividualMax: z.number().int().min(0).max(50).default(3),
  })
  .strict();

export const routingFileSchema = z
  .object({
    $schema: z.string().optional(),
    /** Rule codes of the security family (`PREFIX*` allowed), in addition to VIGIE_SECURITY_CODES. */
    securityCodes: z.array(z.string().regex(/^[A-Z0-9_]+\*?$/)).optional(),
    routes: z.array(routeSchema).min(1).optional(),
    /** When APP_ENV=staging: replaces the Slack (and, when given, email) destinations of every route. */
    staging: z.object({ slack: z.array(z.string().min(1)).optional(), email: z.array(z.string().min(1)).optional() }).strict().optional(),
    digest: z.object({ daily: digestTargetSchema.optional(), weekly: digestTargetSchema.optional() }).strict().optional(),
    policy: policySchema.partial().optional(),
  })
  .strict();

export type RoutingFile = z.infer<typeof routingFileSchema>;
export type Route = z.infer<typeof routeSchema>;
export type Policy = z.infer<typeof policySchema>;

export class RoutingFileError extends Error {
  readonly code = 'VIGIE_ROUTING_FILE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'RoutingFileError';
  }
}

export function loadRoutingFile(path: string): RoutingFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RoutingFileError(`JSON illisible (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseRoutingFile(raw);
}

export function parseRoutingFile(raw: unknown): RoutingFile {
  const res = routingFileSchema.safeParse(raw);
  if (!res.success) {
    const first = res.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(racine)'} : ${i.message}`)
      .join(' ; ');
    throw new RoutingFileError(`format invalide : ${first}`);
  }
  return res.data;
}

/** Symbolic destinations resolved to the configured channels and lists. */
export interface Destinations {
  slack: { ops?: string | undefined; security?: string | undefined; staging?: string | undefined };
  email: { oncall: string[]; security: string[]; managers: string[]; directeur: string[] };
}

export const DEFAULT_ROUTES: Route[] = [
  {
    name: 'security-critical',
    match: { severity: ['CRITICAL'], family: ['security'] },
    slack: ['security'],
    email: ['security'],
    emailOn: ['opened', 'reopened', 'resolved'],
    continue: false,
  },
  {
    name: 'integrity-critical',
    match: { severity: ['CRITICAL'] },
    slack: ['ops'],
    email: ['oncall'],
    emailOn: ['opened', 'reopened', 'resolved'],
    continue: false,
  },
  { name: 'warn-digest-only', match: { severity: ['WARN'] }, slack: [], email: [], emailOn: [], continue: false },
];

export const DEFAULT_POLICY: Policy = { newCycleAfterHours: 24, flapThreshold: 3, flapWindowMinutes: 60, stormIndividualMax: 3 };

export interface AlertFacts {
  checkCode: string;
  severity: Severity;
  family: Family;
  entityType: string;
}

export interface Routed {
  /** Route names that matched (for the ledger and the logs). */
  routes: string[];
  slack: string[];
  email: string[];
  emailOn: NotifyKind[];
}

export interface DigestRouting {
  email: string[];
  slack: string[];
}

/** The effective policy: defaults, overridden by the routing file, resolved against the configuration. */
export class RoutingPolicy {
  readonly routes: Route[];
  readonly policy: Policy;
  private readonly securityCodes: string[];
  private readonly staging: { slack?: string[] | undefined; email?: string[] | undefined } | undefined;
  private readonly digests: Record<'daily' | 'weekly', { email: string[]; slack: string[] }>;

  constructor(
    private readonly env: AppEnv,
    private readonly dest: Destinations,
    file: RoutingFile | null,
    securityCodes: readonly string[] = [],
  ) {
    this.routes = file?.routes ?? DEFAULT_ROUTES;
    this.policy = { ...DEFAULT_POLICY, ...(file?.policy ?? {}) };
    this.securityCodes = [...securityCodes, ...(file?.securityCodes ?? [])];
    this.staging = file?.staging ?? (dest.slack.staging ? { slack: ['staging'] } : undefined);
    this.digests = {
      daily: { email: file?.digest?.daily?.email ?? ['managers'], slack: file?.digest?.daily?.slack ?? [] },
      weekly: { email: file?.digest?.weekly?.email ?? ['directeur'], slack: file?.digest?.weekly?.slack ?? [] },
    };
  }

  /** Security when the payload says so or the code is listed (exact or `PREFIX*`); integrity otherwise. */
  familyOf(checkCode: string, payload: Record<string, unknown>): Family {
    if (payload.family === 'security') return 'security';
    if (payload.family === 'integrity') return 'integrity';
    return this.securityCodes.some((c) => codeMatches(c, checkCode)) ? 'security' : 'integrity';
  }

  route(alert: AlertFacts): Routed {
    const out: Routed = { routes: [], slack: [], email: [], emailOn: [] };
    for (const [i, r] of this.routes.entries()) {
      if (!matches(r.match, alert, this.env)) continue;
      out.routes.push(r.name ?? `route-${i + 1}`);
      out.slack.push(...r.slack);
      out.email.push(...r.email);
      out.emailOn.push(...r.emailOn);
      if (!r.continue) break;
    }
    let slack = out.slack;
    let email = out.email;
    if (this.env === 'staging' && this.staging) {
      if (this.staging.slack && slack.length > 0) slack = this.staging.slack;
      if (this.staging.email && email.length > 0) email = this.staging.email;
    }
    return {
      routes: out.routes,
      slack: unique(slack.flatMap((s) => this.slackChannel(s))),
      email: unique(email.flatMap((e) => this.emailAddresses(e))),
      emailOn: unique(out.emailOn),
    };
  }

  digest(period: 'daily' | 'weekly'): DigestRouting {
    const d = this.digests[period];
    const slack = this.env === 'staging' && this.staging?.slack && d.slack.length > 0 ? this.staging.slack : d.slack;
    return { email: unique(d.email.flatMap((e) => this.emailAddresses(e))), slack: unique(slack.flatMap((s) => this.slackChannel(s))) };
  }

  private slackChannel(name: string): string[] {
    switch (name) {
      case 'ops':
        return this.dest.slack.ops ? [this.dest.slack.ops] : [];
      case 'security':
        return [this.dest.slack.security ?? this.dest.slack.ops].filter((c): c is string => !!c);
      case 'staging':
        return [this.dest.slack.staging ?? this.dest.slack.ops].filter((c): c is string => !!c);
      default:
        return [name];
    }
  }

  private emailAddresses(name: string): string[] {
    switch (name) {
      case 'oncall':
        return this.dest.email.oncall;
      case 'security':
        return this.dest.email.security.length ? this.dest.email.security : this.dest.email.oncall;
      case 'managers':
        return this.dest.email.managers;
      case 'directeur':
        return this.dest.email.directeur;
      default:
        return name.includes('@') ? [name.toLowerCase()] : [];
    }
  }
}

export function codeMatches(pattern: string, code: string): boolean {
  return pattern.endsWith('*') ? code.startsWith(pattern.slice(0, -1)) : pattern === code;
}

function matches(m: Route['match'], a: AlertFacts, env: AppEnv): boolean {
  if (m.severity && !m.severity.includes(a.severity)) return false;
  if (m.family && !m.family.includes(a.family)) return false;
  if (m.env && !m.env.includes(env)) return false;
  if (m.checkCode && !m.checkCode.some((c) => codeMatches(c, a.checkCode))) return false;
  if (m.entityType && !m.entityType.includes(a.entityType)) return false;
  return true;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
