// Makes a metrics directory ready to serve, as the PM2 module and the cluster helper do at start.
import fs from 'node:fs';
import { checkDirectory, refuseWorldWritable, wipeIfStale } from '../store';

export type PreparedState = 'created' | 'empty' | 'wiped' | 'kept';

/**
 * Creates `dir` (0700) when missing; wipes its metric files when no owner is alive (a stale
 * directory from before a restart of everything); otherwise keeps every file and leaves the dead
 * pids to the sweeper. Throws a clear Error when the directory cannot be used.
 */
export function prepareDirectory(dir: string): PreparedState {
  let created = false;
  if (!fs.existsSync(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      created = true;
    } catch (error) {
      throw new Error(`cannot create metrics directory "${dir}": ${(error as Error).message}`);
    }
  }
  checkDirectory(dir);
  refuseWorldWritable(dir);
  return created ? 'created' : wipeIfStale(dir);
}
