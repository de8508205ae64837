import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../shared/project-root.js';

/** Runs lowerHelperThreadPriority() in a node process of its own and reads back every thread's nice value. */
const SCRIPT = `
import fs from 'node:fs';
import os from 'node:os';
import { lowerHelperThreadPriority } from './shared/process/thread-priority.ts';
await fs.promises.readFile('package.json'); // the thread pool is running
const lowered = lowerHelperThreadPriority();
const again = lowerHelperThreadPriority();
const nice = Object.fromEntries(fs.readdirSync('/proc/self/task').map((tid) => [tid, os.getPriority(Number(tid))]));
console.log(JSON.stringify({ pid: process.pid, lowered, again, nice }));
`;

describe('helper thread priority', function () {
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('lowers every thread but the main one (the event loop) to nice 10; a second call changes nothing', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { cwd: projectRoot() });
    const { pid, lowered, again, nice } = JSON.parse(stdout.trim()) as { pid: number; lowered: number; again: number; nice: Record<string, number> };
    const helpers = Object.entries(nice).filter(([tid]) => Number(tid) !== pid);
    expect(nice[String(pid)]).to.equal(0);
    expect(helpers.length).to.be.greaterThan(0);
    expect(lowered).to.equal(helpers.length);
    expect(again, 'a second call finds nothing left to lower').to.equal(0);
    for (const [tid, value] of helpers) expect(value, `thread ${tid}`).to.equal(10);
  });
});
