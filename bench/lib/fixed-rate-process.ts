/**
 * fixedRate() in a node process of its own, so that the open-loop generator sends on
 * time even while this process's event loop is busy driving autocannon (figure 4 runs both
 * at once). Run as a script it takes its arguments as one JSON text and prints the result
 * as one JSON line.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixedRate, type FixedRateResult, type Request } from './load.js';

interface Args {
  url: string;
  requests: Request[];
  rate: number;
  seconds: number;
  sockets: number;
}

const SCRIPT = fileURLToPath(import.meta.url);

export async function fixedRateInOwnProcess(url: string, requests: Request[], rate: number, seconds: number, sockets = 64): Promise<FixedRateResult> {
  const args: Args = { url, requests, rate, seconds, sockets };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(args)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as FixedRateResult;
}

if (process.argv[1] === SCRIPT) {
  const { url, requests, rate, seconds, sockets } = JSON.parse(process.argv[2]!) as Args;
  process.stdout.write(`${JSON.stringify(await fixedRate(url, requests, rate, seconds, sockets))}\n`);
}
