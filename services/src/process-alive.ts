/**
 * Whether process `pid` exists (signal 0). EPERM means it does, owned by another user; ESRCH that
 * it is gone. A pid can be reused, so callers that hold a claim also check it names them.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
