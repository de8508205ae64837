// The HTTP API alone. Start it with bin/size-threadpool.cjs preloaded (npm run start:web).
import { boot } from '../shared/process/boot.js';
import { startHttpServer } from './server.js';

await boot('user-services-web', [startHttpServer]);
