import { configOrExit } from '@vigie/config';
import { loadNotifierConfig } from './config.js';
import { startNotifier } from './service.js';

// A bad environment prints one line naming the variable and its fix, exit 78.
const cfg = configOrExit('notifier', () => loadNotifierConfig(process.env));
try {
  const running = await startNotifier(cfg);
  running.shutdown.installSignalHandlers();
} catch (err) {
  process.stderr.write(`vigie-notifier: démarrage impossible : ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
