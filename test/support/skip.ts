// Skipping a test where the machine refuses what it needs (root, a mount, pid reuse), saying why
// in the test output, as every skip in this suite does.

/** Skips the running test or hook with `reason` printed under its title; nothing when undefined. */
export function skipWhen(context: Mocha.Context, reason: string | undefined): void {
  if (reason === undefined) return;
  console.log(`      (${reason})`);
  context.skip();
}
