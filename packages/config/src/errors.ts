/** Raised when the environment does not describe a runnable service. */
export class ConfigError extends Error {
  readonly code = 'VIGIE_CONFIG_INVALID';
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ variable: string; problem: string; fix: string }>,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
