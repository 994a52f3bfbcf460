// Real pid reuse: the next process forked gets the pid after the one written to
// /proc/sys/kernel/ns_last_pid (root in the pid namespace). Other processes fork too, so a try
// may miss: the process that got another pid is killed and the next try made.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';

export const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/** Why a chosen pid cannot be given to a new process here, or undefined when it can. */
export function pidReuseRefusal(): string | undefined {
  if (process.platform !== 'linux') return `pid reuse needs Linux (${NS_LAST_PID})`;
  try {
    // Writing the current value changes nothing, and says whether writing is allowed.
    fs.writeFileSync(NS_LAST_PID, fs.readFileSync(NS_LAST_PID, 'utf8').trim());
    return undefined;
  } catch (error) {
    return `${NS_LAST_PID} cannot be written here (${(error as Error).message}): pid reuse needs root (CI runs the tests as root)`;
  }
}

/** Makes the next process forked on the machine (if no other forks first) get `pid`. */
export function aimNextPid(pid: number): void {
  fs.writeFileSync(NS_LAST_PID, String(pid - 1));
}

/** Starts processes with `start` until one gets `pid`, which it returns; the others are killed. */
export async function startWithPid<C extends ChildProcess>(pid: number, start: () => C, attempts = 100): Promise<C> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    aimNextPid(pid);
    const child = start();
    if (child.pid === pid) return child;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
  throw new Error(`no process got pid ${pid} in ${attempts} tries: other processes kept taking it`);
}
