// The PEM files named by the `tls_cert` and `tls_key` settings, read and checked before the
// server is made: what is wrong is told with the setting at fault and the `pm2 set` command that
// fixes it, instead of OpenSSL's "no start line" at listen time.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { TlsFiles } from '../server';
import { setCommand } from './config';

function read(setting: 'tls_cert' | 'tls_key', filePath: string, fix: string): Buffer {
  try {
    return fs.readFileSync(filePath);
  } catch (error) {
    throw new Error(`"${setting}" file "${filePath}" cannot be read (${(error as Error).message}) (${fix})`);
  }
}

/**
 * Reads the certificate (chain) and private key files; throws an Error naming the setting at
 * fault: a file that cannot be read, holds no PEM certificate or key, or a key of another
 * certificate. The key's contents never appear in a message.
 */
export function readTlsSettings(certPath: string, keyPath: string): TlsFiles {
  const certFix = setCommand('tls_cert', '/path/to/cert.pem');
  const keyFix = setCommand('tls_key', '/path/to/key.pem');
  const cert = read('tls_cert', certPath, certFix);
  const key = read('tls_key', keyPath, keyFix);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`"tls_cert" file "${certPath}" holds no PEM certificate (${(error as Error).message}) (${certFix})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`"tls_key" file "${keyPath}" holds no PEM private key (${(error as Error).message}) (${keyFix})`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(`"tls_key" file "${keyPath}" is not the private key of the certificate in "tls_cert" file "${certPath}" (${keyFix})`);
  }
  try {
    // What the HTTPS server will do with them (OpenSSL's own checks: a key too weak, say).
    tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(`"tls_cert" and "tls_key" cannot serve TLS: ${(error as Error).message} (${certFix}; ${keyFix})`);
  }
  return { cert, key };
}
