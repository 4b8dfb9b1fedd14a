import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('stamps every line with env and release and scrubs secrets', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'listener', env: 'staging', release: 'abc123', level: 'info', secrets: ['hunter22-secret'], destination });
    log.error({ err: new Error('auth failed for postgres://u:hunter22-secret@db/x') }, 'connexion refusée');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line.env).toBe('staging');
    expect(line.release).toBe('abc123');
    expect(line.service).toBe('listener');
    expect(lines.join('')).not.toContain('hunter22-secret');
    expect(lines.join('')).toContain('[secret]');
  });
});
