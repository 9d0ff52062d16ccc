export interface Command {
  name: string;
  summary: string;
  /** Resolves with the process exit code. */
  run(args: string[]): Promise<number>;
}

/** Wait for SIGINT or SIGTERM (once), for long-running commands. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
