// The PM2 daemon, as this module uses it: connect, list the processes, follow process events.
import { hostPm2 } from './host-pm2';
import { readProcessList, type Pm2Process } from './process-list';

export interface ProcessEvent {
  /** exit, online, restart, stop, delete, ... */
  event: string;
  pmId: number | undefined;
  name: string;
}

interface Bus {
  on(topic: string, listener: (data: unknown) => void): void;
}

function readEvent(data: unknown): ProcessEvent {
  const fields = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  const process = typeof fields.process === 'object' && fields.process !== null ? (fields.process as Record<string, unknown>) : {};
  return {
    event: typeof fields.event === 'string' ? fields.event : '',
    pmId: typeof process.pm_id === 'number' ? process.pm_id : undefined,
    name: typeof process.name === 'string' ? process.name : '',
  };
}

export class Pm2Client {
  private readonly pm2 = hostPm2().pm2;

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pm2.connect((error) => (error ? reject(new Error(`cannot connect to the PM2 daemon: ${error.message}`)) : resolve()));
    });
  }

  list(): Promise<Pm2Process[]> {
    return new Promise((resolve, reject) => {
      this.pm2.list((error, list) => (error ? reject(error) : resolve(readProcessList(list))));
    });
  }

  /** Calls `listener` for every `process:event` the daemon publishes on its bus. */
  onProcessEvent(listener: (event: ProcessEvent) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pm2.launchBus((error, bus: Bus) => {
        if (error) {
          reject(new Error(`cannot open the PM2 event bus: ${error.message}`));
          return;
        }
        bus.on('process:event', (data) => listener(readEvent(data)));
        resolve();
      });
    });
  }

  /** Closes the RPC connection and the bus. */
  disconnect(): void {
    this.pm2.disconnect();
  }
}
