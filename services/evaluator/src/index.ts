import { configOrExit } from '@vigie/config';
import { loadEvaluatorConfig } from './config.js';
import { startEvaluator } from './service.js';

// A bad environment prints one line naming the variable and its fix, exit 78.
const cfg = configOrExit('evaluator', () => loadEvaluatorConfig(process.env));
try {
  const running = await startEvaluator(cfg);
  running.shutdown.installSignalHandlers();
} catch (err) {
  process.stderr.write(`vigie-evaluator: démarrage impossible : ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
