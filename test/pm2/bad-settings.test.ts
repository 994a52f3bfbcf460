// A bad `pm2 set` under a real PM2 daemon, with a real Prometheus scraping: the module refuses
// the settings, says which key is at fault and the command that fixes it, and keeps serving with
// the last settings it accepted; it switches once they are fixed. The very first start with bad
// settings has nothing to fall back on: it waits.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt, freePort, httpGet, makeTempDir, waitFor } from '../server/support';
import { makeSelfSignedCertificate, request } from '../reliability/support';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';
import { IsolatedPm2 } from './support';

const MODULE = 'pm2-prom-multiproc';

describe('pm2: a bad `pm2 set` keeps the module serving with its last good settings', function () {
  this.timeout(300_000);
  const pm2 = new IsolatedPm2();
  const scratch = makeTempDir('bad-settings');
  let port: number;
  let prometheus: PrometheusServer | undefined;
  let certPath: string;
  let keyPath: string;

  const plainHealth = async (): Promise<number> => (await httpGet(`http://127.0.0.1:${port}/healthz`).catch(() => ({ status: 0 }))).status;
  /** The module's errors and warnings, in the order it wrote them (it restarts on every `pm2 set`). */
  const errorLog = (): string[] => {
    const file = path.join(pm2.home, 'logs', `${MODULE}-error.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  };
  /** The first error line matching `pattern` after the first `skip` lines. */
  const logLineAfter = (skip: number, pattern: RegExp): Promise<string> =>
    waitFor(`a log line matching ${pattern}`, () => errorLog().slice(skip).find((line) => pattern.test(line)));
  const logLength = (): number => Math.max(0, errorLog().length - 1);
  /** `pm2 set`, which restarts the module; returns the log's length before it. */
  const set = (key: string, value: string): number => {
    const before = logLength();
    pm2.run('set', `${MODULE}:${key}`, value);
    return before;
  };
  /** The health of each Prometheus job in a scrape after the module (restarted by `pm2 set`) answers again. */
  const jobsHealth = async (): Promise<Record<string, string>> => {
    const ca = fs.readFileSync(certPath);
    await waitFor('the module to answer', async () => {
      if ((await plainHealth()) === 200) return true;
      return (await request(`https://127.0.0.1:${port}/healthz`, { ca }).catch(() => undefined))?.status === 200 ? true : undefined;
    });
    const targets = (await prometheus?.scrapedSince(Date.now())) ?? [];
    return Object.fromEntries(targets.map((target) => [target.job, target.health]));
  };

  before(async function () {
    skipWithoutPrometheus(this);
    ensureBuilt();
    port = await freePort();
    ({ certPath, keyPath } = makeSelfSignedCertificate(scratch));
    pm2.run('set', `${MODULE}:host`, '127.0.0.1');
    pm2.run('set', `${MODULE}:port`, 'nine-thousand');
    pm2.startFromEcosystem(MODULE);
  });

  after(async () => {
    await prometheus?.stop();
    pm2.kill(scratch);
  });

  it('waits at its very first start with bad settings, then serves once they are fixed', async () => {
    const line = await logLineAfter(0, /invalid settings/);
    assert.equal(
      line,
      `${MODULE}: error: invalid settings: "port" must be an integer from 1 to 65535, got "nine-thousand" (pm2 set ${MODULE}:port VALUE); ` +
        'not serving until the settings are fixed',
    );
    set('port', String(port));
    await waitFor('the module on its port', async () => ((await plainHealth()) === 200 ? true : undefined));
    const certificate = path.join(scratch, 'cert.pem');
    prometheus = await PrometheusServer.start([
      '  - job_name: plain',
      `    static_configs: [{ targets: ["127.0.0.1:${port}"] }]`,
      '  - job_name: tls',
      '    scheme: https',
      `    tls_config: { ca_file: "${certificate}" }`,
      `    static_configs: [{ targets: ["127.0.0.1:${port}"] }]`,
    ]);
    assert.deepEqual(await jobsHealth(), { plain: 'up', tls: 'down' });
  });

  it('refuses a typo, names the key and the fix, and keeps serving: Prometheus sees the target up', async () => {
    const before = set('port', '93a1');
    const line = await logLineAfter(before, /invalid settings/);
    assert.match(
      line,
      new RegExp(
        `^${MODULE}: error: invalid settings: "port" must be an integer from 1 to 65535, got "93a1" \\(pm2 set ${MODULE}:port VALUE\\); ` +
          'these settings are refused: serving with the last good settings \\(of \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; the refused ones differ in port\\) until they are fixed$',
      ),
    );
    assert.deepEqual(await jobsHealth(), { plain: 'up', tls: 'down' });
    set('port', String(port));
    const badHost = set('host', '999.1.1.1');
    assert.match(
      await logLineAfter(badHost, /invalid settings/),
      new RegExp(`"host" is not an IPv4 address \\(four numbers from 0 to 255\\), got "999\\.1\\.1\\.1" \\(pm2 set ${MODULE}:host VALUE\\)`),
    );
    const unknownName = set('host', 'no-such-host.invalid');
    assert.match(
      await logLineAfter(unknownName, /invalid settings/),
      new RegExp(`"host" is a name that does not resolve, got "no-such-host\\.invalid" \\(pm2 set ${MODULE}:host ADDRESS\\)`),
    );
    assert.deepEqual(await jobsHealth(), { plain: 'up', tls: 'down' });
    set('host', '127.0.0.1');
  });

  it('names the TLS setting at fault: a missing partner, the wrong PEM, a file that does not exist', async () => {
    const alone = set('tls_cert', keyPath);
    assert.match(
      await logLineAfter(alone, /invalid settings/),
      new RegExp(`"tls_key" is empty while "tls_cert" is set: .*\\(pm2 set ${MODULE}:tls_key /path/to/key\\.pem, or pm2 set ${MODULE}:tls_cert "" for plain HTTP\\)`),
    );
    const wrongPem = set('tls_key', keyPath);
    assert.match(
      await logLineAfter(wrongPem, /invalid settings|tls_cert/),
      new RegExp(`"tls_cert" file "${keyPath}" holds no PEM certificate \\(.*\\) \\(pm2 set ${MODULE}:tls_cert /path/to/cert\\.pem\\); these settings are refused`),
    );
    const missing = set('tls_cert', path.join(scratch, 'missing.pem'));
    assert.match(
      await logLineAfter(missing, /tls_cert/),
      new RegExp(`"tls_cert" file ".*missing\\.pem" cannot be read \\(ENOENT.*\\) \\(pm2 set ${MODULE}:tls_cert /path/to/cert\\.pem\\)`),
    );
    assert.deepEqual(await jobsHealth(), { plain: 'up', tls: 'down' }, 'still the last good settings: plain HTTP');
  });

  it('switches to the settings once they are fixed', async () => {
    set('tls_cert', certPath);
    await waitFor('the module serving HTTPS', async () => {
      const answer = await request(`https://127.0.0.1:${port}/healthz`, { ca: fs.readFileSync(certPath) }).catch(() => undefined);
      return answer?.status === 200 ? true : undefined;
    });
    assert.deepEqual(await jobsHealth(), { plain: 'down', tls: 'up' });
    // The fixed settings are the last good ones now: a new typo keeps HTTPS.
    const before = set('reconcile_interval', 'often');
    assert.match(await logLineAfter(before, /invalid settings/), /the refused ones differ in reconcile_interval\) until they are fixed$/);
    assert.deepEqual(await jobsHealth(), { plain: 'down', tls: 'up' });
    set('reconcile_interval', '10');
  });

  it('names the host when it can listen on no such address, and retries it', async () => {
    // 192.0.2.1 (TEST-NET-1, RFC 5737) is on no machine: a valid setting the listen refuses.
    const before = set('host', '192.0.2.1');
    assert.equal(
      await logLineAfter(before, /cannot listen/),
      `${MODULE}: error: cannot listen on 192.0.2.1:${port}: the host address is not available on this machine; retrying every 15 s ` +
        `(or choose an address of this machine: pm2 set ${MODULE}:host ADDRESS)`,
    );
  });
});
