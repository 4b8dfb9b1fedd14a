import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { alertSubject, alertText, digestSubject, digestSummaryText, digestText } from './render.js';
import type { AlertView, ChatChannel, ChatDelivery, Envelope, MailChannel, MailDelivery } from './types.js';

/**
 * The channel of a machine without Slack or SMTP: every message is appended as one
 * JSON line to `<dir>/slack.jsonl` or `<dir>/email.jsonl`, and its readable text
 * (the same as Slack's fallback / the email's text part) to `<dir>/alerts.log` and,
 * when asked, to stdout.
 */

export interface SinkLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface SinkChannelOptions {
  dir: string;
  /** Also print each message on stdout. */
  console: boolean;
  logger?: SinkLogger;
}

export interface SinkChannel extends ChatChannel, MailChannel {
  readonly dir: string;
}

interface SinkEntry {
  kind: 'slack' | 'email';
  method: string;
  /** The mail subject, printed above the text. */
  subject?: string;
  text: string;
  fields: Record<string, unknown>;
}

const DEFAULT_CHANNEL = 'sink';

export function createSinkChannel(options: SinkChannelOptions): SinkChannel {
  let sequence = 0;

  const nextTs = (): string => {
    sequence = (sequence + 1) % 1_000;
    const now = Date.now();
    return `${Math.floor(now / 1_000)}.${String((now % 1_000) * 1_000 + sequence).padStart(6, '0')}`;
  };

  const write = async ({ kind, method, subject, text, fields }: SinkEntry): Promise<void> => {
    await mkdir(options.dir, { recursive: true });
    const at = new Date().toISOString();
    const where = kind === 'slack' ? `slack ${String(fields.channel)}` : `email → ${String(fields.to)}`;
    const readable = `=== ${at} · ${where} · ${method} ===\n${subject ? `${subject}\n\n` : ''}${text}\n\n`;
    await appendFile(join(options.dir, `${kind}.jsonl`), `${JSON.stringify({ at, method, ...fields, ...(subject ? { subject } : {}), text })}\n`);
    await appendFile(join(options.dir, 'alerts.log'), readable);
    if (options.console) process.stdout.write(readable);
    options.logger?.info(
      { sink: kind, method, channel: fields.channel, to: fields.to, alertId: fields.alertId },
      'message written to the local sink',
    );
  };

  const chat = async (method: string, channel: string, text: string, fields: Record<string, unknown>): Promise<ChatDelivery> => {
    const ts = typeof fields.ts === 'string' ? fields.ts : nextTs();
    await write({ kind: 'slack', method, text, fields: { ...fields, channel, ts } });
    return { channel, ts };
  };

  const mail = async (method: string, to: string[], subject: string, text: string, fields: Record<string, unknown>): Promise<MailDelivery> => {
    const messageId = `<${randomUUID()}@vigie.sink>`;
    await write({ kind: 'email', method, subject, text, fields: { ...fields, to, messageId } });
    return { messageId, accepted: [...to], rejected: [] };
  };

  return {
    dir: options.dir,
    async postAlert(channel, view, envelope) {
      return chat('postAlert', channel ?? DEFAULT_CHANNEL, alertText(view, envelope), alertFields(view, envelope));
    },
    async updateAlert(channel, ts, view, envelope) {
      return chat('updateAlert', channel, alertText(view, envelope), { ...alertFields(view, envelope), ts });
    },
    async replyInThread(channel, threadTs, text) {
      return chat('replyInThread', channel, text, { threadTs });
    },
    async postDigestSummary(channel, digest, envelope) {
      return chat('postDigestSummary', channel ?? DEFAULT_CHANNEL, digestSummaryText(digest, envelope), {
        period: digest.period,
        env: envelope.env,
        release: envelope.release,
      });
    },
    async sendAlert(to, view, envelope, kind) {
      return mail('sendAlert', to, alertSubject(view, envelope, kind), alertText(view, envelope, kind), {
        ...alertFields(view, envelope),
        transition: kind,
      });
    },
    async sendDigest(to, digest, envelope) {
      return mail('sendDigest', to, digestSubject(digest, envelope), digestText(digest, envelope), {
        period: digest.period,
        env: envelope.env,
        release: envelope.release,
      });
    },
  };
}

function alertFields(view: AlertView, envelope: Envelope): Record<string, unknown> {
  return {
    alertId: view.alertId,
    checkCode: view.checkCode,
    severity: view.severity,
    status: view.status,
    env: envelope.env,
    release: envelope.release,
  };
}
