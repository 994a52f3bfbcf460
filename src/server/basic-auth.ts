// Optional HTTP basic authentication for the endpoint: the settings' parsers (a plain
// `user:password`, or `user:scrypt:N:r:p:SALT:KEY` so that no password is stored) and a
// constant-time check of the Authorization header.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export interface BasicAuthCredentials {
  username: string;
  password: string;
}

/** A password known only by its scrypt key: what `basic_auth_hash` holds. */
export interface HashedBasicAuthCredentials {
  username: string;
  scrypt: { N: number; r: number; p: number; salt: Buffer; key: Buffer };
}

export type BasicAuth = BasicAuthCredentials | HashedBasicAuthCredentials;

/** Parses a `user:password` setting; throws an Error that says what is wrong with it. */
export function parseBasicAuthSetting(setting: string): BasicAuthCredentials {
  const separator = setting.indexOf(':');
  if (separator < 0) {
    throw new Error('basic_auth must be "user:password" (no ":" found)');
  }
  const username = setting.slice(0, separator);
  const password = setting.slice(separator + 1);
  if (username === '') throw new Error('basic_auth must be "user:password" (the user is empty)');
  if (password === '') throw new Error('basic_auth must be "user:password" (the password is empty)');
  return { username, password };
}

const HASH_FORMAT = 'basic_auth_hash must be "user:scrypt:N:r:p:SALT:KEY" as printed by `pm2-prom-multiproc hash-password USER`';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a `user:scrypt:N:r:p:SALT:KEY` setting (salt and key in base64); throws what is wrong. */
export function parseHashedBasicAuthSetting(setting: string): HashedBasicAuthCredentials {
  const parts = setting.split(':');
  if (parts.length !== 7 || parts[1] !== 'scrypt') throw new Error(`${HASH_FORMAT} (it has another shape)`);
  const [username, , nText, rText, pText, saltText, keyText] = parts;
  if (username === '') throw new Error(`${HASH_FORMAT} (the user is empty)`);
  const [N, r, p] = [nText, rText, pText].map((text) => (/^[1-9]\d{0,9}$/.test(text) ? Number(text) : 0));
  // Below 2^14 (scrypt's interactive-login cost) a stolen setting is cheap to brute-force.
  if (N < 16384 || (N & (N - 1)) !== 0) throw new Error(`${HASH_FORMAT} (N must be a power of two, at least 16384)`);
  if (r < 1 || p < 1 || r * p > 64) throw new Error(`${HASH_FORMAT} (r and p must be at least 1, r*p at most 64)`);
  if (!BASE64.test(saltText) || !BASE64.test(keyText)) throw new Error(`${HASH_FORMAT} (SALT and KEY must be base64)`);
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length < 16 || key.length < 32) throw new Error(`${HASH_FORMAT} (SALT must be at least 16 bytes, KEY at least 32)`);
  return { username, scrypt: { N, r, p, salt, key } };
}

// scrypt needs about 128 * N * r bytes; Node's default cap (32 MiB) is just too small for N = 2^15.
function scryptMemory(N: number, r: number): number {
  return 256 * N * r + (1 << 20);
}

/** Derives the key off the event loop (libuv's thread pool), so scrapes go on meanwhile. */
function deriveKey(password: string, parameters: HashedBasicAuthCredentials['scrypt']): Promise<Buffer> {
  const { N, r, p, salt, key } = parameters;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, key.length, { N, r, p, maxmem: scryptMemory(N, r) }, (error, derived) =>
      error ? reject(error) : resolve(derived),
    );
  });
}

/** The `basic_auth_hash` setting for a user and password (a fresh random salt, N = 2^15). */
export function hashBasicAuthSetting(username: string, password: string): string {
  if (username === '' || username.includes(':')) throw new Error('the user must be non-empty and hold no ":"');
  if (password === '') throw new Error('the password is empty');
  const [N, r, p] = [32768, 8, 1];
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N, r, p, maxmem: scryptMemory(N, r) });
  return [username, 'scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join(':');
}

/**
 * scrypt derivations running at once, at most: each costs ~100 ms of CPU and 32 MiB, so a flood of
 * wrong passwords must not pile them up. Past this a check is refused outright (401); a scraper
 * whose credentials already passed is recognised without a derivation and is never refused for it.
 */
const MAX_DERIVATIONS = 4;

// Comparing digests keeps the comparison constant-time whatever the lengths of the two inputs.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Builds a checker for `Authorization: Basic ...` headers. No comparison exits early: the user,
 * the password (or its scrypt key, derived off the event loop) and the header's shape are all
 * checked, each with timingSafeEqual over equal-length digests, before the answer is combined.
 * The credentials that passed a hashed check are remembered by their digest (one entry: only one
 * user and password can pass), however the header spells them (`Basic` or `basic`, spaces, base64
 * padding), so a scraper costs one scrypt, not one per scrape, and is served while a flood of
 * wrong passwords keeps every derivation slot busy.
 */
export function basicAuthChecker(expected: BasicAuth): (header: string | undefined) => Promise<boolean> {
  const expectedUser = digest(expected.username);
  const expectedPassword = 'password' in expected ? digest(expected.password) : undefined;
  let acceptedCredentials: Buffer | undefined;
  let derivations = 0;
  return async (header) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    const supplied = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const separator = supplied.indexOf(':');
    const user = separator < 0 ? '' : supplied.slice(0, separator);
    const password = separator < 0 ? '' : supplied.slice(separator + 1);
    const wellFormed = match !== null && separator >= 0;
    const credentials = digest(supplied);
    if (wellFormed && acceptedCredentials !== undefined && timingSafeEqual(credentials, acceptedCredentials)) return true;
    const userMatches = timingSafeEqual(digest(user), expectedUser);
    let passwordMatches: boolean;
    if (expectedPassword !== undefined) {
      passwordMatches = timingSafeEqual(digest(password), expectedPassword);
    } else {
      const { scrypt: parameters } = expected as HashedBasicAuthCredentials;
      // Refusing when busy tells a client only that the server is busy, nothing of the secret.
      if (derivations >= MAX_DERIVATIONS) return false;
      derivations++;
      try {
        passwordMatches = timingSafeEqual(await deriveKey(password, parameters), parameters.key);
      } finally {
        derivations--;
      }
    }
    const accepted = userMatches && passwordMatches && wellFormed;
    if (accepted && expectedPassword === undefined) acceptedCredentials = credentials;
    return accepted;
  };
}
