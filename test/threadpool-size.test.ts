import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../shared/project-root.js';

const PRELOAD = path.join(projectRoot(), 'bin/size-threadpool.cjs');
/** An ES module entry that uses the thread pool once, then prints its size and the process's thread count. */
const PROBE = `
import fs from 'node:fs';
fs.readFile(process.execPath, () => {
  console.log(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE, threads: fs.readdirSync('/proc/self/task').length }));
});
`;

async function probe(env: Record<string, string>, cwd = os.tmpdir()): Promise<{ size: string; threads: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-threadpool-'));
  const script = path.join(dir, 'probe.mjs');
  fs.writeFileSync(script, PROBE);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--require', PRELOAD, script], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    return JSON.parse(stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** bin/size-threadpool.cjs, which the start scripts, Procfile and image preload. */
describe('thread pool sizing', () => {
  it('gives libuv HASH_CONCURRENCY + 4 threads, really started with that many', async () => {
    const one = await probe({ HASH_CONCURRENCY: '1' });
    const nine = await probe({ HASH_CONCURRENCY: '9' });
    expect(one.size).to.equal('5');
    expect(nine.size).to.equal('13');
    // The pool's threads exist: eight more hashing threads, eight more threads in the process.
    expect(nine.threads - one.threads).to.equal(8);
  });

  it('defaults to the available cores + 4, reads HASH_CONCURRENCY from .env, and leaves a set UV_THREADPOOL_SIZE alone', async () => {
    expect((await probe({})).size).to.equal(String(os.availableParallelism() + 4));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-dotenv-'));
    try {
      fs.writeFileSync(path.join(dir, '.env'), 'HASH_CONCURRENCY=3\n');
      expect((await probe({}, dir)).size).to.equal('7');
      expect((await probe({ UV_THREADPOOL_SIZE: '6' }, dir)).size).to.equal('6');
      fs.writeFileSync(path.join(dir, '.env'), 'HASH_CONCURRENCY=3\nUV_THREADPOOL_SIZE=9\n');
      expect((await probe({}, dir)).size).to.equal('9');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
