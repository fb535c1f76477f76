/**
 * The logger library code is handed: Powertools' Logger fits it, so do console and tests. Library
 * code never logs to the console on its own; whoever wires it decides where warnings go.
 */
export interface Log {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A Log that drops everything: the default where a warning has nowhere useful to go. */
export const silentLog: Log = { warn: () => {} };
