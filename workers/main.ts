import { sizeThreadpool } from '../shared/config/threadpool.js';

sizeThreadpool();
const { boot } = await import('../shared/process/boot.js');
const { startWorkers } = await import('./start-workers.js');
await boot('user-services-worker', [startWorkers]);
