import fs from 'node:fs';

/** The socket inodes of TCP connections whose local port is `port`, from /proc/net/tcp and tcp6. */
function inodesOfLocalPort(port: number): Set<string> {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hex}`)) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/**
 * Which of `pids` holds the TCP connection whose local (client) port is `port`: how the
 * harness finds the relay holding the leader lock (pg_stat_activity.client_port) and the
 * email worker sending a mail (the SMTP session's remote port).
 */
export function pidOwningLocalPort(port: number, pids: number[]): number | undefined {
  const inodes = inodesOfLocalPort(port);
  if (inodes.size === 0) return undefined;
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match && inodes.has(match[1]!)) return pid;
      } catch {
        // The fd closed meanwhile.
      }
    }
  }
  return undefined;
}
