// A private PostgreSQL cluster for the chaos run: the machine's cluster on
// 5432 is shared with other engineers and is never restarted. initdb into a
// temporary directory, pg_ctl on a free port (socket in /tmp), trust auth on
// 127.0.0.1 only. As root, the cluster runs as the `postgres` system user.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from '../bench/lib/stack.mjs';

function pgBin() {
  const fromEnv = process.env.VIGIE_PG_BIN;
  if (fromEnv) return fromEnv;
  for (const v of ['17', '16', '15']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error('initdb introuvable : VIGIE_PG_BIN=/usr/lib/postgresql/<version>/bin');
}

function asPostgres(cmd, args) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} : ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function startPrivatePostgres() {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'vigie-chaos-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const port = await freePort();
  if (typeof process.getuid === 'function' && process.getuid() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const opts = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB -c fsync=on -c synchronous_commit=on`;
  const ctl = (args) => asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, ...args]);
  ctl(['-o', opts, '-w', '-t', '60', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir,
    version: asPostgres(join(bin, 'postgres'), ['--version']).trim(),
    /** PostgreSQL restarts the hard way (immediate stop: crash recovery at start). */
    async restart({ downMs = 2_000 } = {}) {
      ctl(['-m', 'immediate', '-w', 'stop']);
      await sleep(downMs);
      ctl(['-o', opts, '-w', '-t', '60', 'start']);
    },
    async stop() {
      try {
        ctl(['-m', 'immediate', '-w', 'stop']);
      } catch {
        // already down
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
