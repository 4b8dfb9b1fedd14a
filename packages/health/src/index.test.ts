import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { healthPlugin } from './index.js';

async function build(status: 'pass' | 'fail', critical = true) {
  const app = Fastify();
  await app.register(healthPlugin, {
    serviceId: 'listener',
    version: '0.1.0',
    release: 'rel-42',
    env: 'staging',
    checks: [{ name: 'postgres', critical, run: async () => ({ status, output: status === 'fail' ? 'connexion refusée secret-pw' : 'ok' }) }],
    scrub: (s) => s.replaceAll('secret-pw', '[secret]'),
  });
  return app;
}

describe('health plugin', () => {
  it('/health shows service, release and env without touching dependencies', async () => {
    const app = await build('fail');
    const res = await app.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/health+json');
    expect(res.json()).toMatchObject({ status: 'pass', serviceId: 'listener', releaseId: 'rel-42', env: 'staging', version: '0.1.0' });
    await app.close();
  });

  it('/ready answers 503 with Retry-After when a critical check fails, scrubbed', async () => {
    const app = await build('fail');
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).not.toContain('secret-pw');
    expect(res.json().checks.postgres.status).toBe('fail');
    await app.close();
  });

  it('/ready warns but stays 200 when only a non-critical check fails', async () => {
    const app = await build('fail', false);
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('warn');
    await app.close();
  });

  it('/metrics exposes Prometheus text with release labels', async () => {
    const app = await build('pass');
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('release="rel-42"');
    await app.close();
  });
});
