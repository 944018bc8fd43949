/**
 * The AdminServer (Apache ZooKeeper's JettyAdminServer) on node:http: the commands of
 * commands.ts over HTTP, answered as JSON.
 *
 *   GET <commandURL> | <commandURL>/      the primary command names, sorted, one link each:
 *                                         <a href="<commandURL>/<name>">name</a> NL <br/> NL
 *   GET <commandURL>/<name>[?k=v&...]     200 application/json, the command's response; query
 *                                         parameters are its arguments (first value of each)
 *   other methods on <commandURL>...      405          any other path  404
 *
 * Settings: admin.enableServer (default true), admin.serverAddress (0.0.0.0),
 * admin.serverPort (8080), admin.commandURL (/commands), admin.idleTimeout (30000 ms). As in
 * Apache ZooKeeper, failing to bind is fatal for the server (exit code 4).
 */
import * as http from 'node:http';
import { primaryNames, runAdminCommand } from './commands';
import { toJacksonJson } from './json-output';
import type { OperatorState } from './operator-state';
import type { ServerContext } from './server-context';

export class AdminServerError extends Error {
  override readonly name = 'AdminServerError';
}

export interface AdminServerOptions {
  address: string;
  port: number;
  commandUrl: string;
  idleTimeoutMs: number;
}

/** Requests are tiny GETs; a larger header is a mistake or an attack. */
const MAX_HEADER_BYTES = 16 * 1024;

function notFoundPage(status: number, message: string, uri: string): string {
  return (
    '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n' +
    `<title>Error ${status} ${message}</title>\n</head>\n<body><h2>HTTP ERROR ${status} ${message}</h2>\n` +
    `<table>\n<tr><th>URI:</th><td>${uri.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)}</td></tr>\n` +
    `<tr><th>STATUS:</th><td>${status}</td></tr>\n<tr><th>MESSAGE:</th><td>${message}</td></tr>\n</table>\n\n</body>\n</html>\n`
  );
}

export class AdminServer {
  private server: http.Server | null = null;

  constructor(
    private readonly ctx: ServerContext,
    private readonly state: OperatorState,
    private readonly opts: AdminServerOptions,
  ) {}

  async start(): Promise<void> {
    const { address, port, commandUrl, idleTimeoutMs } = this.opts;
    const srv = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.ctx.logger.error({ err: (e as Error).message, url: req.url }, 'AdminServer command failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end('{"error": "Exception writing command response to JSON"}');
      });
    });
    srv.keepAliveTimeout = idleTimeoutMs;
    srv.requestTimeout = idleTimeoutMs;
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host: address, port }, () => {
          srv.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw new AdminServerError(
        `Problem starting AdminServer on address ${address}, port ${port} and command URL ${commandUrl}: ${(e as Error).message}`,
      );
    }
    srv.on('error', (e) => this.ctx.logger.error({ err: e.message }, 'AdminServer error'));
    this.server = srv;
    this.ctx.logger.info(
      { address, port: this.port(), commandUrl },
      `Started AdminServer on address ${address}, port ${this.port()} and command URL ${commandUrl}`,
    );
  }

  /** The port bound (admin.serverPort=0 picks a free one, which tests use). */
  port(): number {
    const a = this.server?.address();
    return a !== null && a !== undefined && typeof a === 'object' ? a.port : 0;
  }

  async stop(): Promise<void> {
    const srv = this.server;
    if (srv === null) return;
    this.server = null;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const base = this.opts.commandUrl.replace(/\/+$/, '');
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      pathname = url.pathname;
    }
    const underBase = pathname === base || pathname.startsWith(`${base}/`);
    if (!underBase) {
      res.writeHead(404, { 'Content-Type': 'text/html;charset=utf-8', 'Cache-Control': 'must-revalidate,no-cache,no-store' });
      res.end(notFoundPage(404, 'Not Found', pathname));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/html;charset=utf-8', 'Cache-Control': 'must-revalidate,no-cache,no-store' });
      res.end(notFoundPage(405, 'Method Not Allowed', pathname));
      return;
    }
    const rest = pathname.substring(base.length);
    if (rest === '' || rest === '/') {
      const body = primaryNames()
        .map((n) => `<a href="${base}/${n}">${n}</a>\n<br/>\n`)
        .join('');
      res.writeHead(200, { 'Content-Type': 'text/html;charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const name = rest.substring(1);
    const kwargs = new Map<string, string>();
    for (const [k, v] of url.searchParams) if (!kwargs.has(k)) kwargs.set(k, v);
    const response = await runAdminCommand(this.ctx, this.state, name, kwargs);
    const body = toJacksonJson(response);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
