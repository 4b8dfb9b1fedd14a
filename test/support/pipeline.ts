import { startEvaluator } from '@vigie/evaluator';
import { loadEvaluatorConfig } from '@vigie/evaluator/config';
import { startListener } from '@vigie/listener';
import { loadListenerConfig } from '@vigie/listener/config';
import { createLogger } from '@vigie/logger';
import { freePort } from './processes.js';

/** The listener and the evaluator, in-process, on a database and a queue prefix of the test's own. */
export interface Pipeline {
  evaluatorUrl: string;
  stop: () => Promise<void>;
}

export async function startPipeline(opts: {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  /** Extra evaluator environment (thresholds...). The scheduled sweep is pushed an hour away unless set here. */
  evaluatorEnv?: Record<string, string>;
  /** Start the listener too (default true). */
  listener?: boolean;
}): Promise<Pipeline> {
  const env = { DATABASE_URL: opts.databaseUrl, REDIS_URL: opts.redisUrl, VIGIE_QUEUE_PREFIX: opts.prefix, HOST: '127.0.0.1', LOG_LEVEL: 'silent', VIGIE_POLL_INTERVAL_MS: '300' };
  const logger = createLogger({ service: 'test', env: 'local', release: 'test', level: 'silent' });
  const stops: Array<() => Promise<void>> = [];
  const evaluatorPort = await freePort();
  const evaluator = await startEvaluator(
    loadEvaluatorConfig({ ...env, PORT: String(evaluatorPort), VIGIE_SWEEP_INTERVAL_MS: '3600000', ...opts.evaluatorEnv }),
    { logger },
  );
  stops.push(() => evaluator.stop());
  if (opts.listener !== false) {
    const listener = await startListener(loadListenerConfig({ ...env, PORT: String(await freePort()) }), { logger });
    stops.push(() => listener.stop());
  }
  return {
    evaluatorUrl: `http://127.0.0.1:${evaluatorPort}`,
    stop: async () => {
      for (const s of stops.reverse()) await s().catch(() => undefined);
    },
  };
}
