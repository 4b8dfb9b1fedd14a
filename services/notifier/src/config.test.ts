import { ConfigError } from '@vigie/config';
import { describe, expect, it } from 'vitest';
import { loadNotifierConfig } from './config.js';

const base = { DATABASE_URL: 'postgres://vigie_app@127.0.0.1:5432/x', APP_RELEASE: 'r1' };

function problem(env: Record<string, string>): string {
  try {
    loadNotifierConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
}

describe('notifier configuration', () => {
  it('runs on a fresh machine with the local sink and the documented defaults', () => {
    const cfg = loadNotifierConfig(base);
    expect(cfg).toMatchObject({
      PORT: 8083,
      VIGIE_DIGEST_HOUR: 7,
      VIGIE_WEEKLY_DAY: 'monday',
      VIGIE_REMINDER_HOURS: 4,
      VIGIE_STORM_WINDOW_S: 60,
      MLPP_APP_URL: 'https://monaluxe.app',
      VIGIE_SINK_DIR: '.vigie/sink',
    });
    expect(cfg.SLACK_BOT_TOKEN).toBeUndefined();
    expect(loadNotifierConfig({ ...base, VIGIE_WEEKLY_DAY: 'Lundi' }).VIGIE_WEEKLY_DAY).toBe('monday');
  });

  it('names the fix when a Slack token has no channel, or SMTP no sender and no on-call list', () => {
    const msg = problem({ SLACK_BOT_TOKEN: 'xoxb-1234567890-abcdef', SMTP_URL: 'smtp://u:p@mail:587' });
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toContain('SLACK_CHANNEL_OPS requis quand SLACK_BOT_TOKEN est défini → SLACK_CHANNEL_OPS=C0123ABCD');
    expect(msg).toContain('MAIL_FROM requis quand SMTP_URL est défini');
    expect(msg).toContain('MAIL_ONCALL requis quand SMTP_URL est défini');
    expect(msg).not.toContain('xoxb-1234567890-abcdef');
  });

  it('refuses production with nowhere to send but the local sink', () => {
    expect(problem({ APP_ENV: 'production' })).toContain('ni Slack ni SMTP configuré en production');
  });

  it('checks values and the routing file', () => {
    expect(problem({ MAIL_ONCALL: 'pas-une-adresse' })).toContain('MAIL_ONCALL adresse e-mail invalide');
    expect(problem({ VIGIE_DIGEST_HOUR: '25' })).toContain('VIGIE_DIGEST_HOUR');
    expect(problem({ VIGIE_ROUTING_FILE: '/nonexistent/routing.json' })).toContain('VIGIE_ROUTING_FILE fichier introuvable');
  });

  it('keeps secrets out of the redacted view', () => {
    const cfg = loadNotifierConfig({ ...base, SLACK_BOT_TOKEN: 'xoxb-1234567890-secret', SLACK_CHANNEL_OPS: 'C0OPS', SMTP_URL: 'smtp://u:pw-secret@mail:587', MAIL_FROM: 'v@x.test', MAIL_ONCALL: 'o@x.test' });
    expect(cfg.secrets).toContain('xoxb-1234567890-secret');
    expect(cfg.secrets).toContain('pw-secret');
  });
});
