// The last settings the module started with, kept in PM2's home: a `pm2 set` with a typo
// restarts the module with settings it refuses, and it goes on serving with these instead of
// leaving /metrics offline. They hold what PM2 itself stores in module_conf.json (passwords
// included), so the file is readable by its owner only.
import fs from 'node:fs';
import path from 'node:path';
import { MODULE_NAME, pm2Home } from './config';

export interface SavedSettings {
  /** The settings as readSettings() gave them: package.json defaults and what `pm2 set` stored. */
  raw: Record<string, unknown>;
  /** When they were saved (ISO 8601). */
  savedAt: string;
}

export function lastGoodSettingsPath(home: string = pm2Home()): string {
  return path.join(home, `${MODULE_NAME}.last-good-settings.json`);
}

/** Saves settings the module accepted; written whole (temp file and rename) or not at all. */
export function saveLastGoodSettings(raw: Record<string, unknown>, home: string = pm2Home(), now: Date = new Date()): void {
  const target = lastGoodSettingsPath(home);
  const temp = `${target}.${process.pid}.tmp`;
  const saved: SavedSettings = { raw, savedAt: now.toISOString() };
  try {
    fs.writeFileSync(temp, `${JSON.stringify(saved)}\n`, { mode: 0o600 });
    fs.renameSync(temp, target);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** The settings saved last, or undefined when none were (or the file is not what this module writes). */
export function readLastGoodSettings(home: string = pm2Home()): SavedSettings | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(lastGoodSettingsPath(home), 'utf8'));
  } catch {
    return undefined;
  }
  const fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const { raw, savedAt } = fields;
  if (typeof raw !== 'object' || raw === null || typeof savedAt !== 'string') return undefined;
  return { raw: raw as Record<string, unknown>, savedAt };
}
