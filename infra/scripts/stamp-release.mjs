// Fixes APP_RELEASE at build time: $APP_RELEASE if set, else the git tag or
// short sha (with -dirty for uncommitted changes). Written to release.json at
// the repository root, read by @vigie/config when APP_RELEASE is not set.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

function git(...args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}
const release = process.env.APP_RELEASE || git('describe', '--tags', '--always', '--dirty') || 'dev';
writeFileSync(new URL('../../release.json', import.meta.url), `${JSON.stringify({ release, builtAt: new Date().toISOString() }, null, 2)}\n`);
