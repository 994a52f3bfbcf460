import assert from 'node:assert/strict';
import { MODULE_NAME, parseModuleConfig, readSettings } from '../../src/pm2/config';

describe('pm2: module settings', () => {
  it('starts from the package.json defaults, the directory under PM2_HOME', () => {
    assert.deepEqual(parseModuleConfig(readSettings({}), '/home/app/.pm2'), {
      port: 9321,
      host: '0.0.0.0',
      path: '/metrics',
      dir: '/home/app/.pm2/prom-multiproc',
      reconcileIntervalSeconds: 10,
      deadAllGauges: 'drop',
      maxSeries: 200_000,
      maxReadBytes: 256 * 1024 * 1024,
    });
  });

  it('takes what `pm2 set` stored, as PM2 hands it over (JSON in the variable named like the module)', () => {
    const env = {
      [MODULE_NAME]: JSON.stringify({ port: '9400', host: '127.0.0.1', dir: '/var/run/metrics/', basic_auth: 'prom:p:w', reconcile_interval: 30, dead_all_gauges: 'keep', max_series: '5000000', max_read_mb: 2048 }),
    };
    assert.deepEqual(parseModuleConfig(readSettings(env), '/unused'), {
      port: 9400,
      host: '127.0.0.1',
      path: '/metrics',
      dir: '/var/run/metrics',
      reconcileIntervalSeconds: 30,
      deadAllGauges: 'keep',
      maxSeries: 5_000_000,
      maxReadBytes: 2048 * 1024 * 1024,
      basicAuth: { username: 'prom', password: 'p:w' },
    });
    assert.equal(parseModuleConfig(readSettings({ [MODULE_NAME]: '[object Object]' }), '/h').port, 9321);
  });

  it('names every bad setting, what it expects and the command that fixes it', () => {
    const settings = { ...readSettings({}), port: '70000', host: 'two words', path: 'metrics', reconcile_interval: '0', max_series: '0', max_read_mb: '1.5', dead_all_gauges: 'yes', basic_auth: ':secret' };
    assert.throws(
      () => parseModuleConfig(settings),
      (error: Error) => {
        assert.equal(
          error.message,
          'invalid settings: "port" must be an integer from 1 to 65535, got "70000" (pm2 set pm2-prom-multiproc:port VALUE); ' +
            '"host" must be a host name or IP address to listen on, got "two words" (pm2 set pm2-prom-multiproc:host VALUE); ' +
            '"path" must start with "/", hold no spaces, "?" or "#", and not be "/" or "/healthz", got "metrics" (pm2 set pm2-prom-multiproc:path VALUE); ' +
            '"reconcile_interval" must be a whole number of seconds from 1 to 86400, got "0" (pm2 set pm2-prom-multiproc:reconcile_interval VALUE); ' +
            '"max_series" must be a whole number of series from 1 to 100000000, got "0" (pm2 set pm2-prom-multiproc:max_series VALUE); ' +
            '"max_read_mb" must be a whole number of MiB from 1 to 1000000, got "1.5" (pm2 set pm2-prom-multiproc:max_read_mb VALUE); ' +
            '"dead_all_gauges" must be "keep" or "drop", got "yes" (pm2 set pm2-prom-multiproc:dead_all_gauges VALUE); ' +
            'basic_auth must be "user:password" (the user is empty) (pm2 set pm2-prom-multiproc:basic_auth user:password)',
        );
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
    for (const path of ['/', '/healthz', '/a b', '/m?x']) {
      assert.throws(() => parseModuleConfig({ ...readSettings({}), path }), /"path" must start with/);
    }
  });
});
