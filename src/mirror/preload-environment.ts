// The environment the app is about to run with, as the preload sees it. In a PM2 cluster worker
// preloads run before PM2's ProcessContainer copies the app's env (JSON in pm2_env) to process.env.

/** `env` with the app's PM2 settings over it when PM2 has not applied them yet. */
export function preloadEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const serialized = env.pm2_env;
  if (serialized === undefined) return env;
  let pm2Env: unknown;
  try {
    pm2Env = JSON.parse(serialized);
  } catch {
    return env;
  }
  if (typeof pm2Env !== 'object' || pm2Env === null) return env;
  const result: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(pm2Env)) {
    if (typeof value === 'string' || typeof value === 'number') result[name] = String(value);
  }
  return result;
}
