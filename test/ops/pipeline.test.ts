import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { injectAnomaly } from '@vigie/seed';
import {
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
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killHard, startService, waitFor } from '../support/processes.js';

// The whole pipeline as production runs it: three real service processes,
// Slack through the real client to the local Web API server, email through
// real nodemailer to the local SMTP server.

const RELEASE = 'rel-ops-2026.11.23';
let db: TestDatabase;
let slack: SlackServer;
let smtp: SmtpServer;
const prefix = uniquePrefix('ops');
const ports: Record<string, number> = {};
const procs: Record<string, ChildProcess & { output: () => string }> = {};

function env(name: string): Record<string, string> {
  return {
    APP_ENV: 'staging',
    APP_RELEASE: RELEASE,
    DATABASE_URL: db.appUrl,
    REDIS_URL: testRedisUrl,
    VIGIE_QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: String(ports[name]),
    VIGIE_INGEST_TOKEN: 'x'.repeat(40),
    VIGIE_POLL_INTERVAL_MS: '300',
    VIGIE_SMOKE_TIMEOUT_MS: '4000',
    VIGIE_SMOKE_MIN_INTERVAL_MS: '200',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.apiUrl,
    SLACK_CHANNEL_OPS: 'C0OPS',
    SLACK_CHANNEL_SECURITY: 'C0SECU',
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Vigie <vigie@monaluxe.test>',
    MAIL_ONCALL: 'astreinte@monaluxe.test',
    MAIL_SECURITY: 'securite@monaluxe.test',
    MAIL_MANAGERS: 'directeur@monaluxe.test',
    MAIL_DIRECTEUR: 'directeur@monaluxe.test',
    VIGIE_DIGEST_SCHEDULE: 'false',
    VIGIE_SINK_DIR: mkdtempSync(join(tmpdir(), 'vigie-ops-sink-')),
  };
}

async function start(name: string): Promise<void> {
  procs[name] = startService(name, env(name));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[name]}/ready`)).status === 200, {
    what: `${name} prêt`,
    timeoutMs: 30_000,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${procs[name]?.output()}`);
  });
}

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'ops' });
  slack = await startSlackServer();
  smtp = await startSmtpServer();
  for (const s of ['listener', 'evaluator', 'notifier']) ports[s] = await freePort();
  for (const s of ['notifier', 'evaluator', 'listener']) await start(s);
});
afterAll(async () => {
  for (const p of Object.values(procs)) await killHard(p);
  await slack?.close();
  await smtp?.close();
  await deletePrefix(prefix);
  await db?.drop();
});

describe('operable in production', () => {
  it('a Slack message, an email and /health all show the same release and environment', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await injectAnomaly(c, 'STOCK_NEGATIF');
    } finally {
      await c.end();
    }
    const message = await waitFor(async () => slack.messages('C0OPS').find((m) => JSON.stringify(m).includes('STOCK_NEGATIF')), {
      what: 'message Slack STOCK_NEGATIF',
      timeoutMs: 30_000,
    });
    const slackText = JSON.stringify(message);
    expect(slackText).toContain(RELEASE);
    expect(slackText).toMatch(/staging/i);
    const mail = await waitFor(async () => smtp.mails.find((m) => m.subject.includes('STOCK_NEGATIF')), { what: 'e-mail STOCK_NEGATIF', timeoutMs: 30_000 });
    expect(mail.to).toContain('astreinte@monaluxe.test');
    expect(mail.subject).toMatch(/STAGING/i);
    expect(mail.text).toContain(RELEASE);
    expect(mail.text).toMatch(/staging/i);
    expect(mail.html).toContain(RELEASE);
    for (const s of ['listener', 'evaluator', 'notifier']) {
      const h = (await (await fetch(`http://127.0.0.1:${ports[s]}/health`)).json()) as Record<string, unknown>;
      expect(h).toMatchObject({ status: 'pass', serviceId: s, releaseId: RELEASE, env: 'staging' });
    }
  });

  it('/smoke passes through every stage with the stack up, and names the evaluator when it is stopped', async () => {
    const ok = await fetch(`http://127.0.0.1:${ports.listener}/smoke`);
    const okBody = (await ok.json()) as { status: string; stages: Record<string, number>; release: string };
    expect(ok.status).toBe(200);
    expect(okBody.status).toBe('pass');
    expect(Object.keys(okBody.stages).sort()).toEqual(['evaluator', 'listener', 'notifier', 'outbox']);
    expect(okBody.release).toBe(RELEASE);

    await killHard(procs.evaluator!);
    await new Promise((r) => setTimeout(r, 300)); // past the smoke's minimum interval
    const ko = await fetch(`http://127.0.0.1:${ports.listener}/smoke`);
    const koBody = (await ko.json()) as { status: string; failedStage: string; message: string };
    expect(ko.status).toBe(503);
    expect(ko.headers.get('retry-after')).toBeTruthy();
    expect(koBody).toMatchObject({ status: 'fail', failedStage: 'evaluator' });
    expect(koBody.message).toContain("l'évaluateur n'a pas traité l'événement");
    expect(JSON.stringify(koBody)).not.toContain('postgres://');
  });
});
