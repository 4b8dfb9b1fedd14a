export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface ShutdownLog {
  info: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
}

/**
 * One shutdown coordinator per service: named steps run once, in order
 * (HTTP close → workers → queues → Redis → pg pool), each step's failure
 * logged without stopping the next, the whole bounded by a hard timeout.
 */
export class Shutdown {
  private readonly steps: ShutdownStep[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly log: ShutdownLog,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Steps run in the order they are added. */
  add(name: string, run: ShutdownStep['run']): this {
    this.steps.push({ name, run });
    return this;
  }

  run(reason: string): Promise<void> {
    this.running ??= this.execute(reason);
    return this.running;
  }

  private async execute(reason: string): Promise<void> {
    this.log.info({ reason }, 'arrêt demandé');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref();
    });
    const sequence = (async () => {
      for (const step of this.steps) {
        try {
          await step.run();
        } catch (err) {
          this.log.error({ step: step.name, err }, "échec d'une étape d'arrêt");
        }
      }
      return 'done' as const;
    })();
    const outcome = await Promise.race([sequence, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.log.error({ timeoutMs: this.timeoutMs }, "arrêt forcé : délai dépassé");
  }

  /** SIGTERM and SIGINT run the steps, then exit. */
  installSignalHandlers(exit: (code: number) => void = (c) => process.exit(c)): void {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        void this.run(sig).then(() => exit(0));
      });
    }
  }
}
