// Optional HTTP basic authentication for the endpoint: the setting's parser and a constant-time
// check of the Authorization header.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicAuthCredentials {
  username: string;
  password: string;
}

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

// Comparing digests keeps the comparison constant-time whatever the lengths of the two inputs.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Builds a checker for `Authorization: Basic ...` headers against the expected credentials. */
export function basicAuthChecker(expected: BasicAuthCredentials): (header: string | undefined) => boolean {
  const expectedDigest = digest(`${expected.username}:${expected.password}`);
  return (header) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    const supplied = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    // Always compare, even for a missing header, so timing says nothing about the cause.
    return timingSafeEqual(digest(supplied), expectedDigest) && match !== null;
  };
}
