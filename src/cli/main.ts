#!/usr/bin/env node
/**
 * The zookeeper-ts command line (commander). bin/zkServer.sh and bin/zkCleanup.sh call it the
 * way Apache ZooKeeper's scripts call java.
 */
import { Command } from 'commander';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AdminServerError } from '../admin/admin-server';
import { ConfigError, loadConfigFile, parseLogLevel, type ServerConfig } from '../config/zoo-cfg';
import { createLogger } from '../server/logger';
import { openDatabase, StorageError } from '../persistence/database';
import { LMDB_FILE_NAME } from '../persistence/lmdb-store';
import { startIdleGc } from '../server/idle-gc';
import { setHeapGrowth } from '../server/heap-growth';
import { StandaloneServer, systemClock } from '../server/standalone';
import { registerPersistenceCommands } from './persistence-commands';
import { VERSION_STRING } from '../server/version';
import type { Logger } from '../server/zookeeper-server';

const DEFAULT_CFG = path.join(__dirname, '../../../conf/zoo.cfg');

/**
 * Exit codes, as Apache ZooKeeper's ExitCode: 1 unexpected error, 2 invalid config, 3 data
 * directory unusable, 4 AdminServer could not start.
 */
const EXIT_UNEXPECTED = 1;
const EXIT_INVALID_CONFIG = 2;
const EXIT_ADMIN_SERVER = 4;

/** One line on stderr and a log record, then exit: what an operator sees when startup fails. */
function die(logger: Logger, code: number, line: string, context: object): never {
  logger.error(context, line);
  process.stderr.write(`${line}\n`);
  process.exit(code);
}

async function startForeground(cfgPath: string, opts: { pidFile?: string }): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfigFile(cfgPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      // The config names no level yet: ZOO_LOG_LEVEL if it is a level, else info.
      const level = parseLogLevel(process.env['ZOO_LOG_LEVEL'] ?? '') ?? 'info';
      die(createLogger({ level }), EXIT_INVALID_CONFIG, `Invalid config, exiting abnormally: ${e.message}`, { file: e.file, key: e.key });
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel });
  logger.info({ file: path.resolve(cfgPath) }, `Reading configuration from: ${cfgPath}`);
  for (const w of config.warnings) logger.warn({ file: cfgPath }, w);
  for (const k of config.unknownKeys) {
    logger.debug({ key: k, property: `zookeeper.${k}` }, `config key ${k} is not used by this server; kept as system property zookeeper.${k}`);
  }
  if (config.distributed) {
    die(logger, EXIT_INVALID_CONFIG, `Invalid config, exiting abnormally: ${cfgPath}: quorum mode (server.N lines with more than one participant) is not implemented yet; remove the server.N lines to run standalone`, {
      servers: config.servers.map((s) => s.id),
    });
  }
  if (!config.clientPortSet) {
    const why = config.secureClientPort !== 0 ? 'secureClientPort (TLS) is not supported yet; set clientPort' : 'clientPort is not set';
    die(logger, EXIT_INVALID_CONFIG, `Invalid config, exiting abnormally: ${cfgPath}: ${why}`, { key: 'clientPort' });
  }
  if (config.secureClientPort !== 0) {
    logger.warn({ secureClientPort: config.secureClientPort }, 'secureClientPort is set but TLS is not supported yet: only clientPort is served');
  }
  // Before the data is loaded, so that the heap it fills is sized the same way.
  setHeapGrowth();
  let db;
  try {
    db = await openDatabase(config, logger);
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    logger.error({ dataDir: config.dataDir, dataLogDir: config.dataLogDir, err: e.message }, 'Unable to load database on disk');
    process.stderr.write(`Unable to load database on disk: ${e.message}\n`);
    process.exit(3);
  }
  const server = new StandaloneServer({ config, logger, log: db.log, tree: db.tree });
  db.attach(server.server, systemClock.monoNowMs());
  // The AdminServer's last_snapshot: the zxid the snapshot store reflects, and when it was written.
  const storeFile = path.join(db.snapDir, LMDB_FILE_NAME);
  server.context.lastSnapshot = () => ({ zxid: db.storeZxid(), timestampMs: statSync(storeFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now() });
  db.onFatal = (e) => {
    // ZooKeeper exits when its txn log fails: without a log no write can be acknowledged.
    logger.error({ err: e.message }, 'Severe unrecoverable error, exiting');
    process.exit(1);
  };
  try {
    await server.start();
  } catch (e) {
    const err = (e as Error).message;
    if (e instanceof AdminServerError) die(logger, EXIT_ADMIN_SERVER, `Unable to start AdminServer, exiting abnormally: ${err}`, { err });
    die(logger, EXIT_UNEXPECTED, `Unexpected exception, exiting abnormally: ${err}`, { err, clientPort: config.clientPort });
  }
  const stopIdleGc = startIdleGc(() => server.server.stats.packetsReceived, logger);
  const pidFile = opts.pidFile;
  if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stopIdleGc();
    server.stop().then(() => db.close()).then(
      () => {
        if (pidFile !== undefined) rmSync(pidFile, { force: true });
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const program = new Command();
program.name('zookeeper-ts').description('A ZooKeeper-compatible server in TypeScript').version(VERSION_STRING);
program
  .command('start-foreground')
  .description('run the server in the foreground from a zoo.cfg')
  .argument('[cfg]', 'path to zoo.cfg', DEFAULT_CFG)
  .option('--pid-file <file>', 'write the process id here, removed at clean exit')
  .action((cfg: string, opts: { pidFile?: string }) => startForeground(cfg, opts));
registerPersistenceCommands(program);
program
  .command('version')
  .description('print the version')
  .action(() => {
    // VersionInfoMain's layout: "Apache ZooKeeper, version <version> <build date>".
    process.stdout.write(`Apache ZooKeeper, version ${VERSION_STRING.replace(', built on ', ' ')}\n`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
