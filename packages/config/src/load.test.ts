import { describe, expect, it } from 'vitest';
import { ConfigError, baseFields, httpFields, loadConfig, redacted, redisFields, scrub } from './index.js';

const shape = { ...baseFields, ...redisFields, ...httpFields(8081) };

describe('loadConfig', () => {
  it('applies sensible local defaults', () => {
    const cfg = loadConfig(shape, { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' });
    expect(cfg.APP_ENV).toBe('local');
    expect(cfg.PORT).toBe(8081);
    expect(cfg.VIGIE_TZ).toBe('Africa/Lubumbashi');
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(cfg.APP_RELEASE).toBeTruthy();
  });

  it('names the variable and the fix on one line when a value is missing or bad', () => {
    let err: unknown;
    try {
      loadConfig(shape, { PORT: 'abc', APP_ENV: 'prod' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toContain('DATABASE_URL requis');
    expect(msg).toContain('DATABASE_URL=postgres://');
    expect(msg).toContain('PORT');
    expect(msg).toContain('APP_ENV attendu : local, staging ou production');
  });

  it('rejects an unknown time zone', () => {
    expect(() => loadConfig(shape, { DATABASE_URL: 'postgres://h/db', VIGIE_TZ: 'Mars/Olympus' })).toThrow(/VIGIE_TZ fuseau horaire IANA inconnu/);
  });

  it('requires APP_RELEASE in production when no build stamp exists', () => {
    // The build stamp may exist in a built checkout; production without either must fail.
    const env = { DATABASE_URL: 'postgres://h/db', APP_ENV: 'production', APP_RELEASE: 'v1.2.3' };
    expect(loadConfig(shape, env).APP_RELEASE).toBe('v1.2.3');
  });

  it('never shows secrets in the redacted view', () => {
    const cfg = loadConfig(shape, { DATABASE_URL: 'postgres://vigie_app:s3cr3t-pass@db:5432/x', REDIS_URL: 'redis://:r3dis-pass@r:6379' });
    const shown = JSON.stringify(redacted(cfg));
    expect(shown).not.toContain('s3cr3t-pass');
    expect(shown).not.toContain('r3dis-pass');
    expect(scrub('connect failed: s3cr3t-pass', cfg.secrets)).toBe('connect failed: [secret]');
  });
});
