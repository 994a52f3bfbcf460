// Plain log lines, one per event: info on stdout, warnings and errors on stderr. PM2 captures both
// streams into the module's out/err log files and adds its own timestamps when configured to.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger writing `prefix: message` lines; the prefix names the component in shared logs. */
export function createLogger(prefix: string): Logger {
  return {
    info: (message) => process.stdout.write(`${prefix}: ${message}\n`),
    warn: (message) => process.stderr.write(`${prefix}: warning: ${message}\n`),
    error: (message) => process.stderr.write(`${prefix}: error: ${message}\n`),
  };
}
