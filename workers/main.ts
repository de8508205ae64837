// The worker roles WORKER_QUEUES names. Start it with bin/size-threadpool.cjs preloaded (npm run start:worker).
import { boot } from '../shared/process/boot.js';
import { startWorkers } from './start-workers.js';

await boot('user-services-worker', [startWorkers]);
