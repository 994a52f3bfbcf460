// Access: basic auth configured as an scrypt hash (no password stored), HTTPS with a certificate
// made by openssl here, both set through the module's `pm2 set` keys, and a configurable bind host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MODULE_NAME, parseModuleConfig, readSettings, type ModuleConfig } from '../../src/pm2/config';
import { hashBasicAuthSetting, parseHashedBasicAuthSetting } from '../../src/server/basic-auth';
import { createMetricsHandler, listenOn } from '../../src/server/endpoint';
import { readTlsSettings } from '../../src/pm2/tls-settings';
import type { Logger } from '../../src/logger';
import { MetricsService } from '../../src/host';
import { writeCounter } from '../server/support';
import { basicAuthHeader, makeSelfSignedCertificate, makeTempDir, removeDir, request } from './support';

const quietLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The module's settings as `pm2 set pm2-prom-multiproc:KEY VALUE` leaves them for the module. */
function configFromPm2Set(settings: Record<string, string>): ModuleConfig {
  return parseModuleConfig(readSettings({ [MODULE_NAME]: JSON.stringify(settings) }), '/unused');
}

describe('reliability: access to the endpoint', function () {
  this.timeout(60_000);
  let dir: string;
  let certPath: string;
  let keyPath: string;
  let otherKeyPath: string;

  before(() => {
    dir = makeTempDir('access');
    writeCounter(dir, 101, 'guarded_requests', { route: '/a' }, 7);
    ({ certPath, keyPath } = makeSelfSignedCertificate(dir));
    const otherDir = path.join(dir, 'other');
    fs.mkdirSync(otherDir);
    otherKeyPath = makeSelfSignedCertificate(otherDir).keyPath;
  });
  after(() => removeDir(dir));

  it('serves HTTPS with an scrypt-hashed basic auth set through the module settings; wrong credentials get 401', async () => {
    const hashSetting = hashBasicAuthSetting('prom', 'correct horse:battery');
    assert.doesNotMatch(hashSetting, /correct horse/, 'the setting holds no password');
    const config = configFromPm2Set({ host: '127.0.0.1', basic_auth_hash: hashSetting, tls_cert: certPath, tls_key: keyPath });
    assert.deepEqual(config.tls, { certPath, keyPath });
    assert.ok(config.basicAuth !== undefined && 'scrypt' in config.basicAuth);

    const service = new MetricsService(quietLog);
    const handler = createMetricsHandler({
      path: config.path,
      basicAuth: config.basicAuth,
      log: quietLog,
      title: 'access',
      collect: async () => service.collect([{ dir }]),
    });
    const tls = config.tls && readTlsSettings(config.tls.certPath, config.tls.keyPath);
    const server = await listenOn(handler, config.host, 0, { tls });
    try {
      const port = (server.address() as AddressInfo).port;
      const url = `https://127.0.0.1:${port}/metrics`;
      const ca = tls?.cert;

      const good = await request(url, { ca, authorization: basicAuthHeader('prom:correct horse:battery') });
      assert.equal(good.status, 200);
      assert.match(good.body, /^guarded_requests_total\{route="\/a"\} 7$/m);
      // Twice more: the remembered header takes the fast path and still answers the same.
      assert.equal((await request(url, { ca, authorization: basicAuthHeader('prom:correct horse:battery') })).status, 200);

      const wrong = [
        basicAuthHeader('prom:correct horse:batter'),
        basicAuthHeader('prom:correct horse:battery '),
        basicAuthHeader('Prom:correct horse:battery'),
        basicAuthHeader('other:correct horse:battery'),
        basicAuthHeader('prom:'),
        basicAuthHeader(':correct horse:battery'),
        basicAuthHeader('prom'),
        basicAuthHeader(''),
        'Basic !!!',
        'Bearer correct horse:battery',
        undefined,
      ];
      for (const authorization of wrong) {
        const answer = await request(url, { ca, authorization });
        assert.equal(answer.status, 401, `${String(authorization)} must be refused`);
        assert.doesNotMatch(answer.body, /guarded/);
      }
      assert.equal((await request(`https://127.0.0.1:${port}/healthz`, { ca })).status, 200);

      // A flood of wrong passwords (each an scrypt, at most a few at once) never locks out the
      // scraper whose credentials already passed.
      const flood = Array.from({ length: 200 }, (_, index) =>
        request(url, { ca, authorization: basicAuthHeader(`prom:guess ${index}`) }).then((answer) => answer.status),
      );
      const scraper = Array.from({ length: 20 }, () =>
        request(url, { ca, authorization: basicAuthHeader('prom:correct horse:battery') }).then((answer) => answer.status),
      );
      const [floodStatuses, scraperStatuses] = await Promise.all([Promise.all(flood), Promise.all(scraper)]);
      assert.deepEqual(new Set(floodStatuses), new Set([401]));
      assert.deepEqual(new Set(scraperStatuses), new Set([200]));
      // The certificate is checked: a client that does not trust it is refused by TLS itself.
      await assert.rejects(request(url, { authorization: basicAuthHeader('prom:correct horse:battery') }), /self-signed|self signed/);
      // Plain HTTP to the TLS port gets no metrics.
      const plain = await request(`http://127.0.0.1:${port}/metrics`, { authorization: basicAuthHeader('prom:correct horse:battery') }).catch(
        (error: Error) => ({ status: 0, body: error.message }),
      );
      assert.notEqual(plain.status, 200);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('keeps accepting a scraper once accepted, however it spells the header, during a flood of wrong passwords', async () => {
    const config = configFromPm2Set({ host: '127.0.0.1', basic_auth_hash: hashBasicAuthSetting('prom', 'hunter2') });
    const handler = createMetricsHandler({ path: '/metrics', basicAuth: config.basicAuth, log: quietLog, title: 'auth', collect: async () => [] });
    const server = await listenOn(handler, config.host, 0);
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const credentials = Buffer.from('prom:hunter2').toString('base64');
      // Two scrapers (or one client library that changed its spelling), each accepted once.
      const spellings = [`Basic ${credentials}`, `basic ${credentials}`, `BASIC  ${credentials}`];
      for (const authorization of spellings) assert.equal((await request(url, { authorization })).status, 200, authorization);
      const flood = Array.from({ length: 100 }, (_, index) =>
        request(url, { authorization: basicAuthHeader(`prom:guess ${index}`) }).then((answer) => answer.status),
      );
      const scrapers = Array.from({ length: 30 }, (_, index) =>
        request(url, { authorization: spellings[index % spellings.length] }).then((answer) => answer.status),
      );
      const [floodStatuses, scraperStatuses] = await Promise.all([Promise.all(flood), Promise.all(scrapers)]);
      assert.deepEqual(new Set(floodStatuses), new Set([401]));
      assert.deepEqual(scraperStatuses, scrapers.map(() => 200));
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('refuses settings that would weaken or confuse access, without echoing secrets', () => {
    const hashSetting = hashBasicAuthSetting('prom', 'pw');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ basic_auth: 'prom:pw', basic_auth_hash: hashSetting }, /set only one of basic_auth and basic_auth_hash/],
      [{ basic_auth_hash: 'prom:pw' }, /basic_auth_hash must be "user:scrypt:N:r:p:SALT:KEY"/],
      [{ basic_auth_hash: hashSetting.replace(':32768:', ':1024:') }, /N must be a power of two, at least 16384/],
      [{ basic_auth_hash: hashSetting.replace(/:[^:]+$/, ':c2hvcnQ=') }, /KEY at least 32/],
      [{ tls_cert: certPath }, /"tls_key" is empty while "tls_cert" is set: .*\(pm2 set pm2-prom-multiproc:tls_key \/path\/to\/key\.pem, or pm2 set pm2-prom-multiproc:tls_cert "" for plain HTTP\)/],
      [{ tls_key: keyPath }, /"tls_cert" is empty while "tls_key" is set: .*\(pm2 set pm2-prom-multiproc:tls_cert \/path\/to\/cert\.pem, or pm2 set pm2-prom-multiproc:tls_key ""/],
      [{ tls_cert: 'cert.pem', tls_key: keyPath }, /^invalid settings: "tls_cert" must be an absolute path to a PEM file, got "cert.pem" \(pm2 set pm2-prom-multiproc:tls_cert \/path\/to\/cert\.pem\)$/],
      [{ host: '999.1.1.1' }, /"host" is not an IPv4 address \(four numbers from 0 to 255\), got "999.1.1.1" \(pm2 set pm2-prom-multiproc:host VALUE\)/],
    ];
    for (const [settings, expected] of cases) {
      assert.throws(() => configFromPm2Set(settings), (error: Error) => {
        assert.match(error.message, expected);
        assert.doesNotMatch(error.message, /pw|c2hvcnQ/, 'no secret in the message');
        return true;
      });
    }
    const tlsCases: Array<[cert: string, key: string, expected: RegExp]> = [
      [path.join(dir, 'missing.pem'), keyPath, /^"tls_cert" file ".*missing\.pem" cannot be read \(ENOENT.*\) \(pm2 set pm2-prom-multiproc:tls_cert \/path\/to\/cert\.pem\)$/],
      [certPath, path.join(dir, 'missing.pem'), /^"tls_key" file ".*missing\.pem" cannot be read \(ENOENT.*\) \(pm2 set pm2-prom-multiproc:tls_key \/path\/to\/key\.pem\)$/],
      // Each file where the other belongs: OpenSSL's "no start line" alone named neither.
      [keyPath, certPath, /^"tls_cert" file ".*" holds no PEM certificate \(.*\) \(pm2 set pm2-prom-multiproc:tls_cert \/path\/to\/cert\.pem\)$/],
      [certPath, certPath, /^"tls_key" file ".*" holds no PEM private key \(.*\) \(pm2 set pm2-prom-multiproc:tls_key \/path\/to\/key\.pem\)$/],
      [certPath, otherKeyPath, /^"tls_key" file ".*" is not the private key of the certificate in "tls_cert" file ".*" \(pm2 set pm2-prom-multiproc:tls_key/],
    ];
    for (const [cert, key, expected] of tlsCases) {
      assert.throws(() => readTlsSettings(cert, key), (error: Error) => {
        assert.match(error.message, expected);
        assert.doesNotMatch(error.message, /PRIVATE KEY-----/, 'no key material in the message');
        return true;
      });
    }
    assert.throws(() => parseHashedBasicAuthSetting('prom:scrypt:16384:8:1:!!:!!'), /SALT and KEY must be base64/);
  });

  it('listens only on the configured host', async () => {
    const config = configFromPm2Set({ host: '127.0.0.1' });
    const server = await listenOn(createMetricsHandler({ path: '/metrics', log: quietLog, title: 'host', collect: async () => [] }), config.host, 0);
    try {
      const { address, port } = server.address() as AddressInfo;
      assert.equal(address, '127.0.0.1');
      assert.equal((await request(`http://127.0.0.1:${port}/healthz`, {})).status, 200);
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((info) => info !== undefined && info.family === 'IPv4' && !info.internal);
      if (external !== undefined) {
        await assert.rejects(request(`http://${external.address}:${port}/healthz`, {}), /ECONNREFUSED/);
      }
    } finally {
      server.close();
    }
  });
});
