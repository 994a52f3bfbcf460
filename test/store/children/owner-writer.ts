// A child that writes one counter as itself (so its store writes owner_PID.json), prints its pid
// and start ticks as /proc shows them, then waits for stdin to close.
import { ProcessStore, processStartTicks } from '../../../src/store';

const store = new ProcessStore(process.argv[2]);
const counter = store.file('counter');
counter.add(counter.slotOf('["jobs", "jobs_total", {}, "Jobs."]'), 1);
process.stdout.write(`${JSON.stringify({ pid: process.pid, start: processStartTicks(process.pid) })}\n`);
process.stdin.resume();
process.stdin.on('end', () => store.close());
