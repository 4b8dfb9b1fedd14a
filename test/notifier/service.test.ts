import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killHard, repoRoot, startService } from '../support/processes.js';
import { Harness, waitFor } from './support.js';

// The built service as it is deployed: `node services/notifier/dist/index.js`.

const h = new Harness();
beforeAll(() => h.setup());
afterAll(() => h.teardown());

describe('notifier service', () => {
  it('stops with one clear line and exit 78 on bad configuration, without showing secrets', () => {
    const res = spawnSync(process.execPath, [`${repoRoot}services/notifier/dist/index.js`], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: 'postgres://vigie_app@127.0.0.1/x', SLACK_BOT_TOKEN: 'xoxb-1234567890-topsecret', SMTP_URL: 'smtp://u:hunter22@mail:587' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(78);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('SLACK_CHANNEL_OPS requis quand SLACK_BOT_TOKEN est défini');
    expect(lines[0]).toContain('MAIL_ONCALL requis quand SMTP_URL est défini');
    expect(res.stderr).not.toContain('topsecret');
    expect(res.stderr).not.toContain('hunter22');
  });

  it('shows its release on /health and is ready with Postgres and Redis, secrets kept out', async () => {
    const port = await freePort();
    const proc = startService('notifier', h.env({ PORT: String(port), LOG_LEVEL: 'warn' }));
    try {
      const ready = await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/ready`);
          return r.status === 200 ? ((await r.json()) as { checks: Record<string, { status: string }> }) : null;
        },
        { what: '/ready 200', timeoutMs: 30_000 },
      );
      expect(ready.checks.postgres?.status).toBe('pass');
      expect(ready.checks.redis?.status).toBe('pass');
      expect(ready.checks.deliveries?.status).toBe('pass');
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'pass', serviceId: 'notifier', releaseId: 'rel-test-42', env: 'local' });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('vigie_notifier_deliveries_total');
      expect(metrics).toContain('vigie_time_to_detect_seconds');
      expect(JSON.stringify(ready)).not.toContain(h.slack.token);
    } finally {
      await killHard(proc);
    }
  });
});
