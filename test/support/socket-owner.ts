import fs from 'node:fs';

/**
 * The socket inodes of TCP sockets whose local port is `port`, from /proc/net/tcp and
 * tcp6; only listening ones (state 0A) when `listening`.
 */
function inodesOfLocalPort(port: number, listening: boolean): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // local_address is "ADDR:PORT" in hex, the state column 3, the inode column 9.
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || (listening && fields[3] !== '0A')) continue;
      if (Number.parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** The first of `pids` with an open file descriptor on one of `inodes`. */
function pidHolding(inodes: Set<string>, pids: Iterable<number>): number | undefined {
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

/**
 * Which of `pids` holds the TCP connection whose local (client) port is `port`: how the
 * chaos harness finds the relay holding the leader lock (pg_stat_activity.client_port)
 * and the email worker sending a mail (the SMTP session's remote port).
 */
export function pidOwningLocalPort(port: number, pids: number[]): number | undefined {
  return pidHolding(inodesOfLocalPort(port, false), pids);
}

/** The pid listening on a TCP port of this machine, or undefined: how the bench finds the services' processes. */
export function listenerOf(port: number): number | undefined {
  const pids = fs.readdirSync('/proc').flatMap((entry) => (/^\d+$/.test(entry) ? [Number(entry)] : []));
  return pidHolding(inodesOfLocalPort(port, true), pids);
}
