// Child (a cluster worker): one livesum gauge set to 1 and one counter, then `ready` to the
// primary; it stays until killed.
import { Counter, Gauge } from '../../../src';

new Gauge({ name: 'worker_up', help: 'Workers up.', multiprocessMode: 'livesum' }).set(1);
new Counter({ name: 'worker_starts_total', help: 'Workers started.' }).inc();
process.send?.('ready');
setInterval(() => undefined, 1 << 30);
