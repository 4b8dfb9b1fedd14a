import {
  type ChatPostMessageArguments,
  ErrorCode,
  LogLevel,
  type WebAPICallError,
  WebClient,
} from '@slack/web-api';
import { PermanentDeliveryError, TransientDeliveryError } from './errors.js';
import { createPacer, type PacingOptions } from './pacing.js';
import {
  type AlertDescription,
  alertText,
  describeAlert,
  describeDigest,
  digestSummaryText,
  type Row,
} from './render.js';
import type { AlertView, ChatChannel, ChatDelivery, DigestView, Envelope } from './types.js';

/**
 * Slack through the real Web API client. The client never retries by itself
 * (`retries: 0`, rate-limited calls rejected): the caller's queue owns retries, and
 * gets a TransientDeliveryError (with Slack's Retry-After) or a PermanentDeliveryError.
 */

export interface SlackChannelOptions {
  /** Bot token (`xoxb-…`). */
  token: string;
  /** Web API base URL; defaults to Slack's. */
  apiUrl?: string;
  /** Used when postAlert / postDigestSummary get no channel. */
  defaultChannel?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Per-channel pacing; about one message per second by default. */
  pacing?: PacingOptions;
}

export interface SlackChannel extends ChatChannel {
  /** Checks the token (auth.test). */
  verify(): Promise<{ team: string; botUserId: string }>;
}

type SlackBlock = Extract<ChatPostMessageArguments, { blocks: unknown[] }>['blocks'][number];

/** Slack errors worth retrying; every other platform error is a request Slack will keep refusing. */
const TRANSIENT_SLACK_ERRORS = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

const SECTION_TEXT_MAX = 3_000;
const HEADER_TEXT_MAX = 150;
const FIELDS_PER_SECTION = 10;

export function createSlackChannel(options: SlackChannelOptions): SlackChannel {
  const client = new WebClient(options.token, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
    logLevel: LogLevel.ERROR,
  });
  const pacer = createPacer(options.pacing);

  const channelOf = (channel: string | undefined): string => {
    const resolved = channel ?? options.defaultChannel;
    if (!resolved) {
      throw new PermanentDeliveryError({ provider: 'slack', providerCode: 'no_channel', detail: 'no channel and no default channel' });
    }
    return resolved;
  };

  const send = async (
    channel: string,
    request: () => Promise<{ channel?: string; ts?: string }>,
  ): Promise<ChatDelivery> => {
    await pacer.take(channel);
    let result: { channel?: string; ts?: string };
    try {
      result = await request();
    } catch (error) {
      throw deliveryError(error);
    }
    if (!result.ts) {
      throw new PermanentDeliveryError({ provider: 'slack', providerCode: 'no_ts', detail: 'Slack answered without a message ts' });
    }
    return { channel: result.channel ?? channel, ts: result.ts };
  };

  return {
    async postAlert(channel, view, envelope) {
      const target = channelOf(channel);
      return send(target, () =>
        client.chat.postMessage({ channel: target, text: alertText(view, envelope), blocks: alertBlocks(view, envelope) }),
      );
    },
    async updateAlert(channel, ts, view, envelope) {
      return send(channel, () =>
        client.chat.update({ channel, ts, text: alertText(view, envelope), blocks: alertBlocks(view, envelope) }),
      );
    },
    async replyInThread(channel, threadTs, text) {
      return send(channel, () => client.chat.postMessage({ channel, thread_ts: threadTs, text: mrkdwnEscape(text) }));
    },
    async postDigestSummary(channel, digest, envelope) {
      const target = channelOf(channel);
      return send(target, () =>
        client.chat.postMessage({
          channel: target,
          text: digestSummaryText(digest, envelope),
          blocks: digestBlocks(digest, envelope),
        }),
      );
    },
    async verify() {
      try {
        const result = await client.auth.test();
        return { team: result.team ?? '', botUserId: result.user_id ?? '' };
      } catch (error) {
        throw deliveryError(error);
      }
    },
  };
}

/** The Block Kit message for an alert, as posted and as updated. */
function alertBlocks(view: AlertView, envelope: Envelope): SlackBlock[] {
  const d: AlertDescription = describeAlert(view, envelope);
  return [
    ...bannerBlocks(d.banner),
    header([d.marker, d.emoji, d.heading]),
    section(`*${mrkdwnEscape(d.severity)}* · ${mrkdwnEscape(d.status)}\n${mrkdwnEscape(d.message)}`),
    ...fieldSections(d.where),
    ...fieldSections(d.facts),
    ...fieldSections(d.detected),
    linkButton(d.link),
    footerContext(d.footer),
  ];
}

function digestBlocks(digest: DigestView, envelope: Envelope): SlackBlock[] {
  const d = describeDigest(digest, envelope);
  return [
    ...bannerBlocks(d.banner),
    header([d.marker, '📊', d.title]),
    ...fieldSections([d.openNow, ...d.movement]),
    ...fieldSections(d.timings),
    ...(d.link ? [linkButton(d.link)] : []),
    footerContext(d.footer),
  ];
}

function bannerBlocks(banner: string | null): SlackBlock[] {
  return banner ? [section(`*${mrkdwnEscape(banner)}*`)] : [];
}

function header(parts: Array<string | null>): SlackBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(parts.filter(Boolean).join(' '), HEADER_TEXT_MAX), emoji: true } };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) } };
}

/** Label/value pairs as section fields, ten per section (Slack's limit). */
function fieldSections(rows: Row[]): SlackBlock[] {
  const sections: SlackBlock[] = [];
  for (let i = 0; i < rows.length; i += FIELDS_PER_SECTION) {
    sections.push({
      type: 'section',
      fields: rows.slice(i, i + FIELDS_PER_SECTION).map(({ label, value }) => ({
        type: 'mrkdwn' as const,
        text: truncate(`*${mrkdwnEscape(label)}*\n${mrkdwnEscape(value)}`, 2_000),
      })),
    });
  }
  return sections;
}

function linkButton(link: { label: string; url: string }): SlackBlock {
  return {
    type: 'actions',
    elements: [{ type: 'button', action_id: 'open_integrity_screen', text: { type: 'plain_text', text: link.label }, url: link.url }],
  };
}

function footerContext(footer: string): SlackBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: mrkdwnEscape(footer) }] };
}

/** Slack mrkdwn control characters. */
function mrkdwnEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function isWebApiError(error: unknown): error is WebAPICallError {
  return error instanceof Error && Object.values<unknown>(ErrorCode).includes((error as { code?: unknown }).code);
}

/** Slack's failure → our vocabulary. Anything not from the Web API client is a bug and is rethrown as is. */
function deliveryError(error: unknown): unknown {
  if (!isWebApiError(error)) return error;
  const provider = 'slack';
  switch (error.code) {
    case ErrorCode.RateLimitedError:
      return new TransientDeliveryError({ provider, providerCode: 'ratelimited', retryAfterMs: error.retryAfter * 1_000 });
    case ErrorCode.PlatformError: {
      const providerCode = error.data.error;
      return TRANSIENT_SLACK_ERRORS.has(providerCode)
        ? new TransientDeliveryError({ provider, providerCode })
        : new PermanentDeliveryError({ provider, providerCode });
    }
    case ErrorCode.HTTPError: {
      const providerCode = `http_${error.statusCode}`;
      return error.statusCode >= 500 || error.statusCode === 408
        ? new TransientDeliveryError({ provider, providerCode })
        : new PermanentDeliveryError({ provider, providerCode });
    }
    case ErrorCode.RequestError: {
      // The original error holds the request, token included: keep only its code.
      const original = (error as { original?: { code?: unknown } }).original;
      const providerCode = typeof original?.code === 'string' ? original.code : 'request_error';
      return new TransientDeliveryError({ provider, providerCode, detail: 'network error' });
    }
    default:
      return error;
  }
}
