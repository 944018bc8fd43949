// Small socket helpers shared by the test harnesses and the benchmark: a free loopback port and
// a four-letter-word client. Dependency-free on purpose, so that importing them starts nothing
// and registers no exit hooks.

import net from 'node:net';

export const HOST = '127.0.0.1';

/** A TCP port on 127.0.0.1 that was free when this returned. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not read the bound address'));
      });
    });
  });
}

/** Sends a four-letter word to host:port and returns everything the server answered before closing. */
export function fourLetterAt(host: string, port: number, word: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`four-letter word ${word} to [${host}]:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** fourLetterAt on 127.0.0.1. */
export function fourLetter(port: number, word: string, timeoutMs = 5000): Promise<string> {
  return fourLetterAt(HOST, port, word, timeoutMs);
}
