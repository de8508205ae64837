import { sizeThreadpool } from '../shared/config/threadpool.js';

// Sized before any module that might touch the thread pool is loaded.
sizeThreadpool();
const { boot } = await import('../shared/process/boot.js');
const { startHttpServer } = await import('./server.js');
await boot('user-services-web', [startHttpServer]);
