// A PM2 daemon of the test's own (PM2_HOME in a temp dir, never ~/.pm2), driven through the
// real `pm2` command line, and always killed by the test's after().
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, projectRoot } from '../server/support';

const PM2_BIN = require.resolve('pm2/bin/pm2');

export interface ListedProcess {
  name: string;
  pmId: number;
  pid: number;
  status: string;
  restarts: number;
  isModule: boolean;
}

export class IsolatedPm2 {
  readonly home = makeTempDir('pm2-home');

  constructor(private readonly extraEnv: NodeJS.ProcessEnv = {}) {}

  /** Adds variables to the environment of every later `pm2` command (the ecosystem reads them). */
  extraEnvSet(variables: NodeJS.ProcessEnv): void {
    Object.assign(this.extraEnv, variables);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.extraEnv, PM2_HOME: this.home };
  }

  /** Runs `pm2 ...args` in the project directory and returns its output. */
  run(...args: string[]): string {
    return this.runWithEnv({}, ...args);
  }

  /** Runs `pm2 ...args` with more environment (`pm2 start` hands it to the app it starts). */
  runWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): string {
    return execFileSync(process.execPath, [PM2_BIN, ...args], {
      cwd: projectRoot,
      env: { ...this.env, ...env },
      encoding: 'utf8',
    });
  }

  /** Starts one app of the project's ecosystem.config.js. */
  startFromEcosystem(app: string): void {
    this.run('start', 'ecosystem.config.js', '--only', app);
  }

  list(): ListedProcess[] {
    const raw = JSON.parse(this.run('jlist')) as Array<{
      name: string;
      pm_id: number;
      pid: number;
      pm2_env: { status: string; restart_time: number; pmx_module?: boolean };
    }>;
    return raw.map((entry) => ({
      name: entry.name,
      pmId: entry.pm_id,
      pid: entry.pid,
      status: entry.pm2_env.status,
      restarts: entry.pm2_env.restart_time,
      isModule: entry.pm2_env.pmx_module === true,
    }));
  }

  /** Everything the app wrote to its PM2 log files so far (stdout, then stderr). */
  logs(app: string): string {
    return ['out', 'error']
      .map((stream) => path.join(this.home, 'logs', `${app}-${stream}.log`))
      .filter((file) => fs.existsSync(file))
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('');
  }

  /** Kills the daemon with its apps, and removes its home (and the test's other directories). */
  kill(...alsoRemove: string[]): void {
    try {
      this.run('kill');
    } finally {
      for (const dir of [this.home, ...alsoRemove]) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
