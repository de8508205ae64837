import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A TOTP code computed by Debian's oathtool (an implementation the project did not
 * write), for a Base32 secret at a time (default now) or `steps` periods from now.
 */
export async function oathtoolCode(secret: string, { epochSeconds = Date.now() / 1000, steps = 0 }: { epochSeconds?: number; steps?: number } = {}): Promise<string> {
  const time = new Date((epochSeconds + steps * 30) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  try {
    const { stdout } = await run('oathtool', ['--totp', '--base32', `--now=${time}`, secret]);
    return stdout.trim();
  } catch (error) {
    throw new Error(`oathtool failed or is missing (scripts/ensure-test-tools.sh installs it): ${(error as Error).message}`);
  }
}
