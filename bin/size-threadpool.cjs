// Sizes libuv's thread pool: one thread per concurrent argon2 hash (HASH_CONCURRENCY,
// default the cores this process may use) plus four for file system, DNS and zlib work,
// so hashing never starves them. UV_THREADPOOL_SIZE, when set, wins.
//
// It must be preloaded (`node --require ./bin/size-threadpool.cjs <entry>`), as every
// start script, the Procfile and the Dockerfile do: Node's ES module loader starts the
// pool before an ES module entry's first line runs, so setting the variable there is
// too late. Plain CommonJS for that reason; it reads `.env` first, as the app does.
'use strict';
const os = require('node:os');

try {
  require('dotenv').config({ quiet: true });
} catch {
  // No dotenv (never in this project): the real environment alone decides.
}
if (!process.env.UV_THREADPOOL_SIZE) {
  const hashing = Number.parseInt(process.env.HASH_CONCURRENCY ?? '', 10);
  const threads = (Number.isInteger(hashing) && hashing > 0 ? hashing : os.availableParallelism()) + 4;
  process.env.UV_THREADPOOL_SIZE = String(Math.min(threads, 1024));
}
