import {
  type ChatChannel,
  type Envelope,
  type MailChannel,
  PermanentDeliveryError,
  TransientDeliveryError,
  createEmailChannel,
  createSinkChannel,
  createSlackChannel,
} from '@vigie/channels';
import type { Logger } from '@vigie/logger';
import type { NotifierConfig } from './config.js';
import type { Destinations } from './routing.js';

/**
 * The notifier's way out: Slack (real Web API client) or the local sink,
 * email (pooled nodemailer) or the local sink, chosen by configuration:
 * no SLACK_BOT_TOKEN → Slack messages go to the sink; no SMTP_URL → emails
 * go to the sink (console + files under VIGIE_SINK_DIR).
 */
export interface Outbound {
  chat: ChatChannel;
  chatProvider: 'slack' | 'sink';
  mail: MailChannel;
  mailProvider: 'smtp' | 'sink';
  envelope: Envelope;
  /** Checks the Slack token and the SMTP server (cached a minute): null when fine, else the provider's code. */
  verify(): Promise<{ slack: string | null; smtp: string | null }>;
  close(): void;
}

/** Channel names and placeholder recipients of the sink, so a fresh machine shows every message. */
export const SINK_DESTINATIONS = {
  slack: { ops: '#vigie-exploitation', security: '#vigie-securite' },
  email: {
    oncall: ['astreinte@vigie.local'],
    security: ['securite@vigie.local'],
    managers: ['direction@vigie.local'],
    directeur: ['directeur@vigie.local'],
  },
};

export function destinations(cfg: NotifierConfig): Destinations {
  const sinkSlack = !cfg.SLACK_BOT_TOKEN;
  const sinkMail = !cfg.SMTP_URL;
  const list = (configured: string[], fallback: string[]) => (configured.length > 0 ? configured : sinkMail ? fallback : []);
  return {
    slack: {
      ops: cfg.SLACK_CHANNEL_OPS ?? (sinkSlack ? SINK_DESTINATIONS.slack.ops : undefined),
      security: cfg.SLACK_CHANNEL_SECURITY ?? (sinkSlack && !cfg.SLACK_CHANNEL_OPS ? SINK_DESTINATIONS.slack.security : undefined),
      staging: cfg.SLACK_CHANNEL_STAGING,
    },
    email: {
      oncall: list(cfg.MAIL_ONCALL, SINK_DESTINATIONS.email.oncall),
      security: list(cfg.MAIL_SECURITY, cfg.MAIL_ONCALL.length > 0 ? [] : SINK_DESTINATIONS.email.security),
      managers: list(cfg.MAIL_MANAGERS, SINK_DESTINATIONS.email.managers),
      directeur: list(cfg.MAIL_DIRECTEUR, SINK_DESTINATIONS.email.directeur),
    },
  };
}

export function createOutbound(cfg: NotifierConfig, logger: Logger): Outbound {
  const envelope: Envelope = { env: cfg.APP_ENV, release: cfg.APP_RELEASE, lang: cfg.VIGIE_LANG, timeZone: cfg.VIGIE_TZ };
  const needsSink = !cfg.SLACK_BOT_TOKEN || !cfg.SMTP_URL;
  const sink = needsSink
    ? createSinkChannel({ dir: cfg.VIGIE_SINK_DIR, console: cfg.VIGIE_SINK_CONSOLE, logger: { info: (f, m) => logger.debug(f, m) } })
    : null;
  const slack = cfg.SLACK_BOT_TOKEN
    ? createSlackChannel({
        token: cfg.SLACK_BOT_TOKEN,
        ...(cfg.SLACK_API_URL ? { apiUrl: cfg.SLACK_API_URL } : {}),
        ...(cfg.SLACK_CHANNEL_OPS ? { defaultChannel: cfg.SLACK_CHANNEL_OPS } : {}),
        pacing: { intervalMs: cfg.VIGIE_SLACK_INTERVAL_MS },
      })
    : null;
  const email = cfg.SMTP_URL ? createEmailChannel({ smtpUrl: cfg.SMTP_URL, from: cfg.MAIL_FROM ?? 'Vigie <vigie@localhost>' }) : null;

  let cached: { at: number; value: { slack: string | null; smtp: string | null } } | null = null;
  const code = (err: unknown): string =>
    err instanceof PermanentDeliveryError || err instanceof TransientDeliveryError ? err.providerCode : err instanceof Error ? err.message : String(err);

  return {
    chat: slack ?? (sink as ChatChannel),
    chatProvider: slack ? 'slack' : 'sink',
    mail: email ?? (sink as MailChannel),
    mailProvider: email ? 'smtp' : 'sink',
    envelope,
    async verify() {
      if (cached && Date.now() - cached.at < 60_000) return cached.value;
      const [s, m] = await Promise.all([
        slack ? slack.verify().then(() => null, code) : Promise.resolve(null),
        email ? email.verify().then(() => null, code) : Promise.resolve(null),
      ]);
      cached = { at: Date.now(), value: { slack: s, smtp: m } };
      return cached.value;
    },
    close() {
      email?.close();
    },
  };
}
