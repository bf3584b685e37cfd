import type { Config } from "../config.js";
import { createLogger, type Logger, type LoggerOptions, silentLogger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";

/**
 * A process's logger and metrics, made once and handed to both halves. In
 * `meshai serve` the core and the facade get the same one; a split
 * deployment makes one per process.
 */
export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

/** The process's logger (level from MESHAI_LOG_LEVEL) and a fresh metrics registry. */
export function createObservability(
  config: Pick<Config, "logLevel">,
  opts: { destination?: LoggerOptions["destination"]; defaultMetrics?: boolean } = {},
): Observability {
  return {
    logger: createLogger({ level: config.logLevel, destination: opts.destination }),
    metrics: createMetrics({ defaultMetrics: opts.defaultMetrics }),
  };
}

/** Logs nothing; metrics still count (no default process metrics): for CLI commands and unit tests. */
export function quietObservability(): Observability {
  return { logger: silentLogger(), metrics: createMetrics({ defaultMetrics: false }) };
}
