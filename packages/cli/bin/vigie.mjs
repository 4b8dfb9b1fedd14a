#!/usr/bin/env node
// The `vigie` command. This committed shim is what npm links as the bin: it
// exists at install time, before the build has produced dist/ (a bin pointing
// into dist/ is silently not linked on a fresh clone).
try {
  await import('../dist/bin.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/cli/dist/bin.js')) {
    process.stderr.write('vigie : la CLI n’est pas construite ; lancer « npm run build » à la racine du dépôt.\n');
    process.exit(1);
  }
  throw err;
}
