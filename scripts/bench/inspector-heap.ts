// Live heap of a running node process, through its inspector: forces a full GC
// (HeapProfiler.collectGarbage, twice) and prints the target's process.memoryUsage() as JSON.
// The benchmark starts our server with --inspect-port=HOST:PORT and sends SIGUSR1 to open the
// inspector only after the fill, so that it costs nothing while the load runs.
//
// usage: node --experimental-websocket dist/scripts/bench/inspector-heap.js HOST:PORT
// (Node 20 has a WebSocket client only behind that flag.)

interface WsLike {
  onopen: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}
type WsCtor = new (url: string) => WsLike;

async function main(): Promise<void> {
  const hostPort = process.argv[2];
  if (hostPort === undefined) throw new Error('usage: inspector-heap.js HOST:PORT');
  const Ws = (globalThis as unknown as { WebSocket?: WsCtor }).WebSocket;
  if (Ws === undefined) throw new Error('no WebSocket client: run node with --experimental-websocket');
  let targets: { webSocketDebuggerUrl?: string }[] = [];
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://${hostPort}/json/list`);
      targets = (await r.json()) as { webSocketDebuggerUrl?: string }[];
      if (targets.length > 0) break;
    } catch {
      // the inspector is not listening yet
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target at ${hostPort}`);
  const ws = new Ws(url);
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`inspector websocket: ${String(e)}`));
  });
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) {
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    }
  };
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
    result?: { value?: string };
  };
  ws.close();
  const value = r.result?.value;
  if (value === undefined) throw new Error('Runtime.evaluate gave no value');
  process.stdout.write(value + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`inspector-heap: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
