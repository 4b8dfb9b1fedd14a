import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SlackServer, startSlackServer } from './slack-server.js';

let slack: SlackServer;
let client: WebClient;

beforeEach(async () => {
  slack = await startSlackServer();
  client = new WebClient(slack.token, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
  });
});

afterEach(async () => {
  await slack.close();
});

const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Dépôt*\nDépôt Daipn' } }];

describe('Slack test server', () => {
  it('keeps messages posted by the real WebClient, with their updates and thread replies', async () => {
    const first = await client.chat.postMessage({ channel: 'C-OPS', text: 'alerte', blocks });
    const second = await client.chat.postMessage({ channel: 'C-OPS', text: 'autre' });
    await client.chat.update({ channel: 'C-OPS', ts: first.ts ?? '', text: 'alerte (résolue)', blocks });
    await client.chat.postMessage({ channel: 'C-OPS', thread_ts: first.ts ?? '', text: '✅ Résolu' });

    expect(first.ts).toBe('1700000000.000100');
    expect(second.ts).toBe('1700000000.000200');
    expect(first.message?.text).toBe('alerte');
    const [message, other] = slack.messages('C-OPS');
    expect(message).toMatchObject({ ts: first.ts, text: 'alerte (résolue)', blocks, updates: 1 });
    expect(message?.replies.map((r) => r.text)).toEqual(['✅ Résolu']);
    expect(other?.replies).toEqual([]);
    expect(slack.messages('C-OTHER')).toEqual([]);
    expect(slack.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.postMessage', 'chat.update', 'chat.postMessage']);
    expect(slack.calls[0]?.args.blocks).toEqual(blocks);
  });

  it('parses JSON bodies and answers auth.test and conversations.info', async () => {
    const response = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${slack.token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C-SEC', text: 'json', blocks }),
    });
    expect(await response.json()).toMatchObject({ ok: true, channel: 'C-SEC' });
    expect(slack.messages('C-SEC')[0]).toMatchObject({ text: 'json', blocks });

    expect(await client.auth.test()).toMatchObject({ ok: true, user_id: 'U0VIGIEBOT' });
    expect(await client.conversations.info({ channel: 'C-SEC' })).toMatchObject({ ok: true, channel: { id: 'C-SEC' } });
  });

  it('refuses a wrong token and unknown messages', async () => {
    const intruder = new WebClient('xoxb-wrong', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    await expect(intruder.chat.postMessage({ channel: 'C-OPS', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'invalid_auth' },
    });
    await expect(client.chat.update({ channel: 'C-OPS', ts: '1.000000', text: 'x' })).rejects.toMatchObject({
      data: { error: 'message_not_found' },
    });
    await expect(client.chat.postMessage({ channel: 'C-OPS', thread_ts: '1.000000', text: 'x' })).rejects.toMatchObject({
      data: { error: 'thread_not_found' },
    });
    expect(slack.messages('C-OPS')).toEqual([]);
  });

  it('fails the next calls as told, then recovers', async () => {
    slack.failNext(1, { status: 429, retryAfter: 3 });
    slack.failNext(1, { status: 500 });
    await expect(client.chat.postMessage({ channel: 'C', text: 'a' })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: 3,
    });
    await expect(client.chat.postMessage({ channel: 'C', text: 'a' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    await client.chat.postMessage({ channel: 'C', text: 'a' });
    expect(slack.calls.map((c) => c.status)).toEqual([429, 500, 200]);
    expect(slack.messages('C')).toHaveLength(1);
  });

  it('fails with a platform error until cleared', async () => {
    slack.failWith('channel_not_found');
    for (let i = 0; i < 2; i += 1) {
      await expect(client.chat.postMessage({ channel: 'C', text: 'a' })).rejects.toMatchObject({
        data: { error: 'channel_not_found' },
      });
    }
    slack.failWith(null);
    await client.chat.postMessage({ channel: 'C', text: 'a' });
    expect(slack.calls.map((c) => c.error ?? 'ok')).toEqual(['channel_not_found', 'channel_not_found', 'ok']);
  });

  it('drops the connection on a reset fault', async () => {
    slack.failNext(1, { reset: true });
    await expect(client.chat.postMessage({ channel: 'C', text: 'a' })).rejects.toMatchObject({ code: ErrorCode.RequestError });
    expect(slack.calls[0]).toMatchObject({ ok: false, error: 'connection_reset' });
  });

  it('fails every call during an outage window only', async () => {
    slack.setOutage(150, { status: 503 });
    await expect(client.chat.postMessage({ channel: 'C', text: 'a' })).rejects.toMatchObject({ statusCode: 503 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await client.chat.postMessage({ channel: 'C', text: 'a' });
    expect(slack.messages('C')).toHaveLength(1);
  });

  it('waits for calls, and says how many came when they do not', async () => {
    const waiting = slack.waitForCalls(2, { method: 'chat.postMessage' });
    await client.chat.postMessage({ channel: 'C', text: 'a' });
    await client.auth.test();
    await client.chat.postMessage({ channel: 'C', text: 'b' });
    expect((await waiting).map((c) => c.args.text)).toEqual(['a', 'b']);
    await expect(slack.waitForCalls(5, { timeoutMs: 50 })).rejects.toThrow('expected 5 calls within 50 ms, got 3');
  });
});
