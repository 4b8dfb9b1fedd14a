import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SmtpServer, startSmtpServer } from './smtp-server.js';

let smtp: SmtpServer;

beforeEach(async () => {
  smtp = await startSmtpServer();
});

afterEach(async () => {
  await smtp.close();
});

const send = (to: string[], options: { pool?: boolean; cc?: string; bcc?: string } = {}) => {
  const transport = nodemailer.createTransport({ url: smtp.url, ...(options.pool ? { pool: true } : {}) });
  const sent = transport.sendMail({
    from: 'Vigie <vigie@monaluxe.app>',
    to,
    cc: options.cc,
    bcc: options.bcc,
    subject: '[CRITIQUE] Stock négatif',
    text: 'Citerne : TANK1',
    html: '<p>Citerne : <b>TANK1</b></p>',
  });
  return { transport, sent };
};

describe('SMTP test server', () => {
  it('parses what nodemailer sends', async () => {
    const { sent } = send(['directeur@monaluxe.app', 'gerant@monaluxe.app'], { cc: 'pca@monaluxe.app', bcc: 'audit@monaluxe.app' });
    const info = await sent;
    const [mail] = await smtp.waitForMails(1);
    expect(mail).toMatchObject({
      from: 'vigie@monaluxe.app',
      to: ['directeur@monaluxe.app', 'gerant@monaluxe.app'],
      cc: ['pca@monaluxe.app'],
      subject: '[CRITIQUE] Stock négatif',
      text: 'Citerne : TANK1',
      html: '<p>Citerne : <b>TANK1</b></p>',
      messageId: info.messageId,
    });
    expect(mail?.envelope.to).toContain('audit@monaluxe.app');
    expect(mail?.headers.subject).toBe('[CRITIQUE] Stock négatif');
    expect(mail?.headers.from).toContain('vigie@monaluxe.app');
  });

  it('refuses matching recipients, permanently or temporarily', async () => {
    smtp.rejectRecipients(/^gerant@/);
    const info = await send(['directeur@monaluxe.app', 'gerant@monaluxe.app']).sent;
    expect(info.accepted).toEqual(['directeur@monaluxe.app']);
    expect(info.rejected).toEqual(['gerant@monaluxe.app']);
    const [mail] = await smtp.waitForMails(1);
    expect(mail?.envelope.to).toEqual(['directeur@monaluxe.app']);

    await expect(send(['gerant@monaluxe.app']).sent).rejects.toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    smtp.rejectRecipients('gerant@monaluxe.app', { code: 450 });
    await expect(send(['gerant@monaluxe.app']).sent).rejects.toMatchObject({ responseCode: 450 });
    smtp.acceptAllRecipients();
    await send(['gerant@monaluxe.app']).sent;
    expect(smtp.mails).toHaveLength(2);
  });

  it('stops (connections refused, pooled ones dropped) and restarts on the same port', async () => {
    const { transport, sent } = send(['ops@monaluxe.app'], { pool: true });
    await sent;
    const port = smtp.port;

    await smtp.stop();
    await expect(transport.sendMail({ from: 'vigie@monaluxe.app', to: 'ops@monaluxe.app', subject: 'x', text: 'x' })).rejects.toMatchObject({
      code: expect.stringMatching(/^(ESOCKET|ECONNECTION)$/),
    });

    await smtp.restart();
    expect(smtp.port).toBe(port);
    await transport.sendMail({ from: 'vigie@monaluxe.app', to: 'ops@monaluxe.app', subject: 'again', text: 'x' });
    expect((await smtp.waitForMails(2)).map((m) => m.subject)).toEqual(['[CRITIQUE] Stock négatif', 'again']);
    transport.close();
  });

  it('says how many mails came when fewer than awaited', async () => {
    await expect(smtp.waitForMails(1, { timeoutMs: 50 })).rejects.toThrow('expected 1 mails within 50 ms, got 0');
  });
});
