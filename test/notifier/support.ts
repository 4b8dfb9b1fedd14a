import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningListener, startListener } from '@vigie/listener';
import { loadListenerConfig } from '@vigie/listener/config';
import { type RunningNotifier, startNotifier } from '@vigie/notifier';
import { loadNotifierConfig } from '@vigie/notifier/config';
import {
  type SlackMessage,
  type SlackServer,
  type SmtpServer,
  type TestDatabase,
  createTestDatabase,
  deletePrefix,
  startSlackServer,
  startSmtpServer,
  testRedisUrl,
  uniquePrefix,
} from '@vigie/testkit';
import { createLogger } from '@vigie/logger';
import pg from 'pg';
import { freePort, waitFor } from '../support/processes.js';

export { waitFor };

const quietLogger = () => createLogger({ service: 'test', env: 'local', release: 'test', level: 'silent' });

export const OPS = 'C0OPS';
export const SECURITY = 'C0SECU';
export const STAGING = 'C0STAGING';
export const ONCALL = ['astreinte@monaluxe.test', 'chef.depot@monaluxe.test'];
export const SECURITY_LIST = ['securite@monaluxe.test'];
export const MANAGERS = ['directeur@monaluxe.test', 'gerant@monaluxe.test', 'pca@monaluxe.test'];
export const DIRECTEUR = ['directeur@monaluxe.test'];

/** Everything one test file needs: its own database, queue prefix, Slack and SMTP servers, the listener and notifiers. */
export class Harness {
  db!: TestDatabase;
  admin!: pg.Pool;
  slack!: SlackServer;
  smtp!: SmtpServer;
  readonly prefix = uniquePrefix('notif');
  readonly tmp = mkdtempSync(join(tmpdir(), 'vigie-notifier-'));
  private listener: RunningListener | null = null;
  private readonly notifiers = new Set<RunningNotifier>();

  async setup(): Promise<this> {
    this.db = await createTestDatabase({ prefix: 'notif', seedReference: false });
    this.admin = new pg.Pool({ connectionString: this.db.url, max: 4 });
    this.slack = await startSlackServer();
    this.smtp = await startSmtpServer();
    return this;
  }

  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      APP_ENV: 'local',
      APP_RELEASE: 'rel-test-42',
      DATABASE_URL: this.db.appUrl,
      REDIS_URL: testRedisUrl,
      VIGIE_QUEUE_PREFIX: this.prefix,
      HOST: '127.0.0.1',
      PORT: '8083',
      LOG_LEVEL: 'silent',
      VIGIE_TZ: 'Africa/Lubumbashi',
      SLACK_BOT_TOKEN: this.slack.token,
      SLACK_API_URL: this.slack.apiUrl,
      SLACK_CHANNEL_OPS: OPS,
      SLACK_CHANNEL_SECURITY: SECURITY,
      SMTP_URL: this.smtp.url,
      MAIL_FROM: 'Vigie <vigie@monaluxe.test>',
      MAIL_ONCALL: ONCALL.join(','),
      MAIL_SECURITY: SECURITY_LIST.join(','),
      MAIL_MANAGERS: MANAGERS.join(','),
      MAIL_DIRECTEUR: DIRECTEUR.join(','),
      MLPP_APP_URL: 'https://monaluxe.app',
      VIGIE_STORM_WINDOW_S: '2',
      VIGIE_TICK_S: '1',
      VIGIE_SLACK_INTERVAL_MS: '20',
      VIGIE_RETRY_MAX_S: '2',
      // Scheduled digests are driven explicitly by the digest tests (notify.digest jobs, vigie digest --now).
      VIGIE_DIGEST_SCHEDULE: 'false',
      VIGIE_SINK_DIR: join(this.tmp, 'sink'),
      VIGIE_SINK_CONSOLE: 'false',
      ...overrides,
    };
  }

  async startListener(): Promise<RunningListener> {
    if (this.listener) return this.listener;
    const cfg = loadListenerConfig({
      APP_ENV: 'local',
      APP_RELEASE: 'rel-test-42',
      DATABASE_URL: this.db.appUrl,
      REDIS_URL: testRedisUrl,
      VIGIE_QUEUE_PREFIX: this.prefix,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      LOG_LEVEL: 'silent',
      VIGIE_POLL_INTERVAL_MS: '300',
      VIGIE_REDISPATCH_AFTER_S: '10',
    });
    this.listener = await startListener(cfg, { logger: quietLogger() });
    return this.listener;
  }

  async startNotifier(overrides: Record<string, string> = {}): Promise<RunningNotifier> {
    const cfg = loadNotifierConfig(this.env({ PORT: String(await freePort()), ...overrides }));
    const n = await startNotifier(cfg, { logger: quietLogger() });
    this.notifiers.add(n);
    await n.started;
    return n;
  }

  async stopNotifier(n: RunningNotifier): Promise<void> {
    this.notifiers.delete(n);
    await n.stop();
  }

  /** A routing file in the test's temporary folder. */
  routingFile(content: unknown): string {
    const path = join(this.tmp, `routing-${randomUUID().slice(0, 8)}.json`);
    writeFileSync(path, JSON.stringify(content));
    return path;
  }

  async teardown(): Promise<void> {
    for (const n of this.notifiers) await n.stop().catch(() => undefined);
    await this.listener?.stop().catch(() => undefined);
    await this.slack?.close().catch(() => undefined);
    await this.smtp?.close().catch(() => undefined);
    await this.admin?.end().catch(() => undefined);
    await this.db?.drop().catch(() => undefined);
    await deletePrefix(this.prefix).catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  // ------------------------------------------------------- ML_PP's side

  /** A finding, as the evaluator writes it: a new OPEN row in public.system_alerts (the trigger records the transition). */
  async openAlert(a: Partial<AlertInput> = {}): Promise<string> {
    const x = { ...defaultAlert(), ...a };
    const { rows } = await this.admin.query<{ id: string }>(
      `insert into public.system_alerts (check_code, severity, entity_type, entity_id, message, payload, first_detected_at, last_detected_at)
       values ($1, $2, $3, $4, $5, $6, coalesce($7, now()), coalesce($7, now())) returning id`,
      [x.checkCode, x.severity, x.entityType, x.entityId, x.message, JSON.stringify(x.payload), x.detectedAt ?? null],
    );
    return rows[0]!.id;
  }

  /** Many findings in one statement (a storm). */
  async openAlerts(list: Array<Partial<AlertInput>>): Promise<string[]> {
    const xs = list.map((a) => ({ ...defaultAlert(), ...a }));
    const { rows } = await this.admin.query<{ id: string }>(
      `insert into public.system_alerts (check_code, severity, entity_type, entity_id, message, payload)
       select x.check_code, x.severity, x.entity_type, x.entity_id::uuid, x.message, x.payload
         from jsonb_to_recordset($1::jsonb) as x(check_code text, severity text, entity_type text, entity_id text, message text, payload jsonb)
       returning id`,
      [
        JSON.stringify(
          xs.map((x) => ({ check_code: x.checkCode, severity: x.severity, entity_type: x.entityType, entity_id: x.entityId, message: x.message, payload: x.payload })),
        ),
      ],
    );
    return rows.map((r) => r.id);
  }

  /** ACK from ML_PP's /governance/integrity screen (as the app's user). */
  async ack(alertId: string, userId: string | null = null): Promise<void> {
    await this.admin.query("update public.system_alerts set status = 'ACK', acknowledged_by = $2, acknowledged_at = now() where id = $1", [alertId, userId]);
  }

  async resolve(alertId: string, userId: string | null = null): Promise<void> {
    await this.admin.query("update public.system_alerts set status = 'RESOLVED', resolved_by = $2, resolved_at = now() where id = $1", [alertId, userId]);
  }

  /** Detected again (the evaluator's sync reopens a RESOLVED alert). */
  async reopen(alertId: string): Promise<void> {
    await this.admin.query(
      "update public.system_alerts set status = 'OPEN', last_detected_at = now(), acknowledged_by = null, acknowledged_at = null, resolved_by = null, resolved_at = null where id = $1",
      [alertId],
    );
  }

  /** A person of ML_PP (auth.users + profils), for "Pris en charge par …". */
  async person(name: string): Promise<string> {
    const id = randomUUID();
    await this.admin.query('insert into auth.users (id, email) values ($1, $2)', [id, `${id.slice(0, 6)}@monaluxe.test`]);
    await this.admin.query("insert into public.profils (user_id, nom_complet, role, email) values ($1, $2, 'gerant', $3)", [id, name, `${id.slice(0, 6)}@monaluxe.test`]);
    return id;
  }

  /** Transitions whose outbox events are not processed yet. */
  async unprocessedTransitions(): Promise<number> {
    const { rows } = await this.admin.query<{ n: number }>("select count(*)::int as n from vigie.outbox where kind = 'alert.transition' and processed_at is null");
    return rows[0]?.n ?? 0;
  }

  async deliveries(where = 'true'): Promise<LedgerRow[]> {
    const { rows } = await this.admin.query<LedgerRow>(
      `select id, idempotency_key, source, transition_id, alert_id, kind, channel, recipient, action, status, reason, attempts, provider,
              provider_ts, thread_ts, provider_message_id, last_error_code
         from vigie.deliveries where ${where} order by id`,
    );
    return rows;
  }

  /** Waits until no email is pending in the ledger. */
  async settledEmails(): Promise<void> {
    await waitFor(
      async () => {
        const { rows } = await this.admin.query<{ n: number }>("select count(*)::int as n from vigie.deliveries where channel = 'email' and status = 'pending'");
        return rows[0]?.n === 0;
      },
      { what: 'e-mails envoyés', timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  /** Waits until every transition is handled (its outbox event processed) and nothing is pending. */
  async settled(opts: { timeoutMs?: number } = {}): Promise<void> {
    await waitFor(
      async () => {
        const { rows } = await this.admin.query<{ n: number; p: number }>(
          `select (select count(*) from vigie.outbox where kind = 'alert.transition' and processed_at is null)::int as n,
                  (select count(*) from vigie.deliveries where status = 'pending')::int as p`,
        );
        return rows[0]?.n === 0 && rows[0]?.p === 0;
      },
      { what: 'toutes les transitions traitées', timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100 },
    );
  }
}

export interface AlertInput {
  checkCode: string;
  severity: 'CRITICAL' | 'WARN';
  entityType: string;
  entityId: string;
  message: string;
  payload: Record<string, unknown>;
  detectedAt?: Date;
}

export interface LedgerRow {
  id: number;
  idempotency_key: string;
  source: string;
  transition_id: number | null;
  alert_id: string | null;
  kind: string;
  channel: string;
  recipient: string;
  action: string;
  status: string;
  reason: string | null;
  attempts: number;
  provider: string | null;
  provider_ts: string | null;
  thread_ts: string | null;
  provider_message_id: string | null;
  last_error_code: string | null;
}

let tank = 0;
/** A negative-stock finding on a tank of Dépôt Daipn, with the payload conventions of the evaluator. */
export function defaultAlert(): AlertInput {
  tank++;
  return {
    checkCode: 'STOCK_NEGATIF',
    severity: 'CRITICAL',
    entityType: 'CITERNE_STOCK',
    entityId: randomUUID(),
    message: `Stock négatif sur TANK${tank}`,
    payload: {
      message_fr: `Le stock comptable de TANK${tank} (MONALUXE) est passé sous zéro : -1 250 L à 15 °C.`,
      message_en: `TANK${tank} (MONALUXE) book stock fell below zero: -1,250 L at 15 °C.`,
      depot: 'Dépôt Daipn',
      citerne: `TANK${tank}`,
      produit: 'Gasoil/AGO',
      proprietaire: 'MONALUXE',
      stock_ambiant: -1180,
      stock_15c: -1250,
      threshold: 0,
      vigie: { event_id: 1, event_at: new Date(Date.now() - 1500).toISOString() },
    },
  };
}

type Block = { type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<Record<string, unknown>> };

/** What a person sees in a Slack message: every text of every block, in order. */
export function visibleText(message: { blocks: unknown[] } | undefined): string {
  const blocks = (message?.blocks ?? []) as Block[];
  return blocks
    .flatMap((b) => [
      b.text?.text,
      ...(b.fields ?? []).map((f) => f.text),
      ...(b.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : (e.text as { text?: string } | undefined)?.text)),
    ])
    .filter((t): t is string => typeof t === 'string')
    .join('\n');
}

export function buttonUrl(message: SlackMessage | undefined): string | undefined {
  const blocks = (message?.blocks ?? []) as Block[];
  const el = blocks.find((b) => b.type === 'actions')?.elements?.[0];
  return typeof el?.url === 'string' ? el.url : undefined;
}
