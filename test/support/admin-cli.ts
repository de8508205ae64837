import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/project-root.js';
import { testApp } from './hooks.js';

const run = promisify(execFile);

/** `npm run admin -- <args>` from source (bin/admin.ts) against the test database. */
export async function adminCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: testApp().services.config.database.url, LOG_LEVEL: 'silent' };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/admin.ts', ...args], { cwd: projectRoot(), env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
