import net from 'node:net';

/** One command as Redis's MONITOR reports it: who sent it ("lua" for a script's own calls) and its arguments. */
export interface MonitoredCommand {
  source: string;
  args: string[];
}

/** MONITOR's quoting: "..." with \\, \" and \xHH escapes, as sdscatrepr writes them. */
function unquote(quoted: string): string {
  return quoted.replace(/\\(x[0-9a-f]{2}|.)/g, (_, escape: string) => {
    if (escape.startsWith('x') && escape.length === 3) return String.fromCharCode(parseInt(escape.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[escape] ?? escape;
  });
}

/**
 * Redis's MONITOR on a plain socket. ioredis's monitor() can take the first lines for a
 * reply while the shared Redis is busy ("Command queue state error", uncaught): the
 * stream is simple enough to read here.
 */
export async function monitorRedis(url: string, onCommand: (command: MonitoredCommand) => void): Promise<{ stop(): void }> {
  const { hostname, port } = new URL(url);
  const socket = net.createConnection({ host: hostname, port: Number(port || 6379) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  let buffer = '';
  const started = new Promise<void>((resolve) => {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\r\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line === '+OK') resolve();
        const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (!match) continue;
        const args = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((quoted) => unquote(quoted[1]!));
        onCommand({ source: match[1]!, args });
      }
    });
  });
  socket.write('MONITOR\r\n');
  await started;
  return { stop: () => socket.destroy() };
}
