import net from 'node:net';

export interface Backend {
  name: string;
  port: number;
}

export interface RoundRobinProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP load balancer on loopback, as a platform's router: each client connection goes
 * to the next backend in turn; a backend that refuses the connection (stopped, or
 * draining on SIGTERM) is skipped for the next one, so only a backend dying under an
 * open connection reaches the client, as a reset.
 */
export async function startRoundRobinProxy(backends: () => Backend[]): Promise<RoundRobinProxy> {
  let next = 0;
  const open = new Set<net.Socket>();

  function connect(client: net.Socket, tried: number): void {
    const list = backends();
    if (tried >= list.length) {
      client.destroy();
      return;
    }
    const backend = list[next++ % list.length]!;
    const upstream = net.connect({ host: '127.0.0.1', port: backend.port });
    open.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) return connect(client, tried + 1);
      client.destroy();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      if (connected) client.end();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    connect(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
