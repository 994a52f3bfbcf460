import assert from 'node:assert/strict';
import { renderText } from '../../src/collect';
import { customMetricName, processMetrics } from '../../src/pm2/process-metrics';
import { readProcessList } from '../../src/pm2/process-list';
import { sampleLines, sampleValue } from '../server/support';

// Shaped like PM2 7's `pm2.list()`: @pm2/io sends some values as text with a unit beside them.
function listEntry(pmId: number, status: string, monitor: Record<string, unknown>): unknown {
  return {
    pm_id: pmId,
    name: 'api',
    pid: status === 'online' ? 4000 + pmId : 0,
    monit: { cpu: 1.5, memory: 1000 + pmId },
    pm2_env: {
      status,
      exec_mode: 'cluster_mode',
      NODE_APP_INSTANCE: pmId,
      version: '2.1.0',
      exec_interpreter: 'node',
      node_version: '20.20.2',
      pm_uptime: 1_000_000,
      instances: 2,
      restart_time: 3,
      prev_restart_delay: 0,
      pm_cwd: '/srv/api',
      env: { PROMETHEUS_MULTIPROC_DIR: 'metrics' },
      axm_monitor: monitor,
    },
  };
}

describe('pm2: the process view (pm2-metrics names and labels)', () => {
  const processes = readProcessList([
    listEntry(0, 'online', {
      'Used Heap Size': { value: '5.90', unit: 'MiB' },
      'Event Loop Latency p95': { value: '1.06', unit: 'ms' },
      'Active handles': { value: 4 },
      Up: { value: 7 },
      'Build name': { value: 'blue' },
    }),
    listEntry(1, 'stopped', {}),
    { name: 'no pm_id' },
  ]);

  it('reads what it needs from the list, resolving a relative directory against the app cwd', () => {
    assert.equal(processes.length, 2);
    assert.equal(processes[0].metricsDir, '/srv/api/metrics');
    assert.equal(processes[0].instance, '0');
  });

  it('exposes up, cpu, memory, uptime, instances, restarts, prev_restart_delay per process', () => {
    const text = renderText(processMetrics(processes, 1_010_000));
    const labels = (id: number) => ({ id: String(id), name: 'api', instance: String(id), version: '2.1.0', interpreter: 'node', node_version: '20.20.2' });
    assert.equal(sampleValue(text, 'pm2_up', labels(0)), 1);
    assert.equal(sampleValue(text, 'pm2_up', labels(1)), 0);
    assert.equal(sampleValue(text, 'pm2_uptime', labels(0)), 10);
    assert.equal(sampleValue(text, 'pm2_uptime', labels(1)), 0);
    assert.equal(sampleValue(text, 'pm2_memory', labels(1)), 1001);
    assert.equal(sampleValue(text, 'pm2_cpu', labels(0)), 1.5);
    assert.equal(sampleValue(text, 'pm2_instances', labels(0)), 2);
    assert.equal(sampleValue(text, 'pm2_restarts', labels(0)), 3);
    assert.equal(sampleValue(text, 'pm2_prev_restart_delay', labels(0)), 0);
  });

  it('adds numeric @pm2/io metrics as pm2_<snake_name>, never over a standard name', () => {
    assert.equal(customMetricName('Event Loop Latency p95'), 'pm2_event_loop_latency_p95');
    const text = renderText(processMetrics(processes));
    const labels = { id: '0', name: 'api', instance: '0', version: '2.1.0', interpreter: 'node', node_version: '20.20.2' };
    assert.equal(sampleValue(text, 'pm2_used_heap_size', labels), 5.9);
    assert.equal(sampleValue(text, 'pm2_event_loop_latency_p95', labels), 1.06);
    assert.equal(sampleValue(text, 'pm2_active_handles', labels), 4);
    assert.match(text, /# HELP pm2_used_heap_size Used Heap Size \(MiB\)/);
    assert.equal(sampleLines(text, 'pm2_build_name').length, 0, 'text values are left out');
    assert.equal(sampleLines(text, 'pm2_up').length, 2, 'a custom "Up" does not add to pm2_up');
  });
});
