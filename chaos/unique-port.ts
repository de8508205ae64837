import { freePort } from '../test/support/service-process.js';

const handedOut = new Set<number>();
/**
 * A free port never handed out before in this run: freePort closes its probe, so two
 * calls (the three servers start at once) may otherwise get the same one.
 */
export async function uniquePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}
