// The one way this package reports what it cannot throw: a logger an app may replace. Warnings
// (a corrupt file skipped, a collect callback failing, the pwrite fallback) must reach someone
// without ever interrupting the app, and each part of the package sends them here.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const PREFIX = 'pm2-prom-multiproc';

/** The default: one line per message on the console, prefixed with the package name. */
const consoleLogger: Logger = {
  info: (message) => console.log(`${PREFIX}: ${message}`),
  warn: (message) => console.warn(`${PREFIX}: ${message}`),
  error: (message) => console.error(`${PREFIX}: error: ${message}`),
};

let current: Logger = consoleLogger;

/** Where this package's messages go from now on; `undefined` restores the console. */
export function setLogger(logger: Logger | undefined): void {
  current = logger ?? consoleLogger;
}

/** The logger in use. Asked at each message, so a logger set later is used by every part. */
export function logger(): Logger {
  return current;
}

/**
 * A logger for a long-running service (the PM2 module, the cluster primary): `prefix: message`
 * lines, info on stdout, warnings and errors on stderr, which PM2 captures into its log files.
 */
export function createLogger(prefix: string): Logger {
  return {
    info: (message) => process.stdout.write(`${prefix}: ${message}\n`),
    warn: (message) => process.stderr.write(`${prefix}: warning: ${message}\n`),
    error: (message) => process.stderr.write(`${prefix}: error: ${message}\n`),
  };
}
