import { configOrExit } from '@vigie/config';
import { loadListenerConfig } from './config.js';
import { startListener } from './service.js';

// A bad environment prints one line naming the variable and its fix, exit 78.
const cfg = configOrExit('listener', () => loadListenerConfig(process.env));
try {
  const running = await startListener(cfg);
  running.shutdown.installSignalHandlers();
} catch (err) {
  process.stderr.write(`vigie-listener: démarrage impossible : ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
