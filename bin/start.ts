import { sizeThreadpool } from '../shared/config/threadpool.js';

// Every role in one process (development, small installs): the HTTP API and all workers.
sizeThreadpool();
const { boot } = await import('../shared/process/boot.js');
const { startHttpServer } = await import('../api/server.js');
const { startWorkers } = await import('../workers/start-workers.js');
await boot('user-services', [startHttpServer, startWorkers]);
