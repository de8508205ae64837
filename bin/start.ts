// Every role in one process (development, small installs): the HTTP API and all workers.
// Start it with bin/size-threadpool.cjs preloaded (npm start, npm run dev).
import { startHttpServer } from '../api/server.js';
import { boot } from '../shared/process/boot.js';
import { startWorkers } from '../workers/start-workers.js';

await boot('user-services', [startHttpServer, startWorkers]);
