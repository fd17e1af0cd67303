import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP relay in front of a real server, for outage tests that never touch the machine's
 * shared servers:
 * - `pass`: bytes flow both ways;
 * - `refuse`: the listening socket is closed, so connects fail with ECONNREFUSED;
 * - `blackhole`: connections are accepted and held, and nothing is ever answered.
 * Switching mode breaks every open connection, as a server crash or a network cut would.
 */
export interface Relay {
  host: string;
  port: number;
  mode(next: 'pass' | 'refuse' | 'blackhole'): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  let current: 'pass' | 'refuse' | 'blackhole' = 'pass';
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const onConnection = (client: Socket) => {
    track(client);
    if (current === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = createConnection(target);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        const address = next.address();
        if (address && typeof address === 'object') port = address.port;
        server = next;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const old = server;
      server = undefined;
      if (!old) return resolve();
      old.close(() => resolve());
    });

  const breakAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  await listen();
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    async mode(next) {
      breakAll();
      current = next;
      if (next === 'refuse') await stopListening();
      else if (!server) await listen();
    },
    async close() {
      breakAll();
      await stopListening();
    },
  };
}
