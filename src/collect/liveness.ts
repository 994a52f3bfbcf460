// Whether a process is alive, as every part that must never touch a live process's files asks it.

/** True while `pid` exists; EPERM means it exists under another user, so it is alive too. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
