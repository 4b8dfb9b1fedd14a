import { createHash } from 'node:crypto';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Address } from 'nodemailer/lib/mailer/index.js';
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { PermanentDeliveryError, TransientDeliveryError } from './errors.js';
import {
  type AlertDescription,
  alertSubject,
  alertText,
  type DigestDescription,
  describeAlert,
  describeDigest,
  digestSubject,
  digestText,
  type Row,
  type Table,
} from './render.js';
import type { MailChannel, MailDelivery, MailIdentity, Severity } from './types.js';

/**
 * Email through nodemailer's pooled SMTP transport: alerts (one mail per transition)
 * and digests, each as HTML with a plain-text alternative carrying the same words.
 */

export interface EmailChannelOptions {
  /** `smtp://user:pass@host:587`, `smtps://…`. */
  smtpUrl: string;
  /** `Vigie <vigie@monaluxe.app>` */
  from: string;
  /** Reuse SMTP connections (default true). */
  pool?: boolean;
  maxConnections?: number;
  /** Connection, greeting and socket timeouts. */
  timeoutMs?: number;
}

export interface EmailChannel extends MailChannel {
  /** Connects and says EHLO (and logs in when the URL has credentials). */
  verify(): Promise<void>;
  close(): void;
}

/** Failures that are about this message or this configuration, not about the moment. */
const PERMANENT_NODEMAILER_CODES = new Set(['EAUTH', 'EENVELOPE', 'EMESSAGE', 'EREQUIRETLS']);

export function createEmailChannel(options: EmailChannelOptions): EmailChannel {
  const timeout = options.timeoutMs ?? 10_000;
  const common = {
    url: options.smtpUrl,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout * 3,
    logger: false,
  };
  const transport =
    options.pool === false
      ? nodemailer.createTransport(common)
      : nodemailer.createTransport({ ...common, pool: true, maxConnections: options.maxConnections ?? 2 });

  const domain = mailDomain(options.from);
  const messageId = (token: string) => `<${createHash('sha256').update(token).digest('hex').slice(0, 32)}.vigie@${domain}>`;
  const threading = (identity: MailIdentity | undefined): SendMailOptions => {
    if (!identity) return {};
    const parent = identity.inReplyTo ? messageId(identity.inReplyTo) : undefined;
    return { messageId: messageId(identity.id), ...(parent ? { inReplyTo: parent, references: [parent] } : {}) };
  };

  const send = async (mail: SendMailOptions): Promise<MailDelivery> => {
    try {
      const info = await transport.sendMail({ from: options.from, ...mail });
      return { messageId: info.messageId, accepted: info.accepted.map(address), rejected: info.rejected.map(address) };
    } catch (error) {
      throw deliveryError(error);
    }
  };

  return {
    async sendAlert(to, view, envelope, kind, identity) {
      return send({
        ...threading(identity),
        to,
        subject: alertSubject(view, envelope, kind),
        text: alertText(view, envelope, kind),
        html: alertHtml(describeAlert(view, envelope, kind), view.severity),
      });
    },
    async sendDigest(to, digest, envelope, identity) {
      return send({
        ...threading(identity),
        to,
        subject: digestSubject(digest, envelope),
        text: digestText(digest, envelope),
        html: digestHtml(describeDigest(digest, envelope)),
      });
    },
    async verify() {
      try {
        await transport.verify();
      } catch (error) {
        throw deliveryError(error);
      }
    },
    close() {
      transport.close();
    },
  };
}

/** The domain of the sender's address (`Vigie <vigie@monaluxe.app>` → monaluxe.app): Message-IDs live under it. */
export function mailDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return m?.[1]?.toLowerCase() ?? 'vigie.local';
}

// ---------------------------------------------------------------------------
// HTML: simple tables with inline styles, which every mail client renders.

const FONT = 'font-family:Arial,Helvetica,sans-serif;color:#1f2933;';
const SEVERITY_COLOR: Record<Severity, string> = { CRITICAL: '#c62828', WARN: '#ef6c00' };

function alertHtml(d: AlertDescription, severity: Severity): string {
  return page(d.banner, [
    d.reason ? `<p style="margin:0 0 4px;font-size:13px;color:#52606d">${esc(d.reason)}</p>` : '',
    `<h2 style="margin:0 0 8px;font-size:20px">${esc([d.marker, d.emoji].filter(Boolean).join(' '))} <span style="color:${SEVERITY_COLOR[severity]}">${esc(d.severity)}</span> · ${esc(d.heading)}</h2>`,
    rowsTable([{ label: d.statusLabel, value: d.status }]),
    `<p style="margin:0 0 16px">${esc(d.message)}</p>`,
    rowsTable([...d.where, ...d.facts, ...d.detected]),
    button(d.link),
    footerLine(d.footer),
  ]);
}

function digestHtml(d: DigestDescription): string {
  return page(d.banner, [
    `<h2 style="margin:0 0 4px;font-size:20px">${esc([d.marker, d.title].filter(Boolean).join(' '))}</h2>`,
    `<p style="margin:0 0 16px;color:#52606d">${esc(d.period)}</p>`,
    rowsTable([d.openNow, ...d.movement, ...d.timings]),
    ...d.tables.map(dataTable),
    d.link ? button(d.link) : '',
    footerLine(d.footer),
  ]);
}

function page(banner: string | null, body: string[]): string {
  const bannerHtml = banner
    ? `<div style="background:#fff3cd;border:2px solid #d97706;padding:8px 12px;margin:0 0 16px;font-weight:bold">${esc(banner)}</div>`
    : '';
  return `<!doctype html><html><body style="${FONT}font-size:14px;margin:0;padding:16px">${bannerHtml}${body.join('\n')}</body></html>`;
}

function rowsTable(rows: Row[]): string {
  const cells = rows
    .map(
      (r) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;vertical-align:top">${esc(r.label)}</th><td style="padding:4px 0">${esc(r.value)}</td></tr>`,
    )
    .join('');
  return `<table role="presentation" style="border-collapse:collapse;margin:0 0 16px">${cells}</table>`;
}

function dataTable(table: Table): string {
  const title = `<h3 style="margin:16px 0 6px;font-size:16px">${esc(table.title)}</h3>`;
  if (table.rows.length === 0) return `${title}<p style="margin:0;color:#52606d">${esc(table.empty)}</p>`;
  const cell = 'padding:4px 8px;border:1px solid #cbd2d9;text-align:left';
  const head = table.columns.map((c) => `<th style="${cell};background:#f0f4f8">${esc(c)}</th>`).join('');
  const body = table.rows.map((row) => `<tr>${row.map((v) => `<td style="${cell}">${esc(v)}</td>`).join('')}</tr>`).join('');
  return `${title}<table style="border-collapse:collapse"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function button(link: { label: string; url: string }): string {
  return `<p style="margin:16px 0"><a href="${esc(link.url)}" style="background:#1d4ed8;color:#ffffff;padding:8px 14px;text-decoration:none;border-radius:4px">${esc(link.label)}</a></p>`;
}

function footerLine(footer: string): string {
  return `<p style="margin:24px 0 0;font-size:12px;color:#7b8794">${esc(footer)}</p>`;
}

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// ---------------------------------------------------------------------------

function address(recipient: string | Address): string {
  return typeof recipient === 'string' ? recipient : recipient.address;
}

/** What nodemailer puts on an error when the server refused every recipient. */
interface SmtpFailure extends SMTPConnection.SMTPError {
  rejected?: string[];
  rejectedErrors?: SMTPConnection.SMTPError[];
}

/** nodemailer's failure → our vocabulary. */
function deliveryError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const smtp: SmtpFailure = error;
  const provider = 'smtp';
  const codes = (smtp.rejectedErrors ?? []).map((e) => e.responseCode).filter((c): c is number => c !== undefined);
  const responseCode = smtp.responseCode;
  // Every recipient refused: permanent only if none was refused temporarily (4xx).
  if (codes.length > 0) {
    const rejected = (smtp.rejected ?? []).join(', ');
    const detail = `recipients refused: ${rejected}`;
    return codes.some((c) => c < 500)
      ? new TransientDeliveryError({ provider, providerCode: String(codes.find((c) => c < 500)), detail })
      : new PermanentDeliveryError({ provider, providerCode: String(codes[0]), detail });
  }
  if (responseCode !== undefined) {
    const providerCode = String(responseCode);
    const detail = smtp.command ? `${smtp.command} refused` : undefined;
    return responseCode >= 500
      ? new PermanentDeliveryError({ provider, providerCode, ...(detail ? { detail } : {}) })
      : new TransientDeliveryError({ provider, providerCode, ...(detail ? { detail } : {}) });
  }
  // Not an SMTP failure at all: a bug, rethrown as is.
  if (typeof smtp.code !== 'string') return error;
  const code = smtp.code;
  if (PERMANENT_NODEMAILER_CODES.has(code)) return new PermanentDeliveryError({ provider, providerCode: code });
  // ECONNECTION, ESOCKET (refused, reset), ETIMEDOUT, EDNS, a pool closed under us.
  return new TransientDeliveryError({ provider, providerCode: code, detail: 'SMTP server unreachable' });
}
