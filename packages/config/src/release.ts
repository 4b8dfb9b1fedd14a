import { readFileSync } from 'node:fs';

let cached: string | null | undefined;

/**
 * The release fixed at build time: `infra/scripts/stamp-release` writes
 * `release.json` ({ "release": "<sha or tag>" }) at the repository root.
 * Looked up once, relative to the working directory and VIGIE_HOME.
 */
export function readBuildRelease(candidates: string[] = defaultCandidates()): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const file of candidates) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { release?: unknown };
      if (typeof parsed.release === 'string' && parsed.release.length > 0) {
        cached = parsed.release;
        break;
      }
    } catch {
      /* next */
    }
  }
  return cached;
}

function defaultCandidates(): string[] {
  const fromModule = new URL('../../../release.json', import.meta.url).pathname;
  return [fromModule, `${process.cwd()}/release.json`];
}
