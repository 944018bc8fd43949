#!/usr/bin/env node
/**
 * The zookeeper-ts command line (commander). bin/zkServer.sh and bin/zkCleanup.sh call it the
 * way Apache ZooKeeper's scripts call java.
 */
import { Command } from 'commander';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfigFile } from '../config/zoo-cfg';
import { createLogger } from '../server/logger';
import { StandaloneServer } from '../server/standalone';
import { VERSION_STRING } from '../server/version';

const DEFAULT_CFG = path.join(__dirname, '../../../conf/zoo.cfg');

async function startForeground(cfgPath: string, opts: { pidFile?: string }): Promise<void> {
  const logger = createLogger();
  let config;
  try {
    config = loadConfigFile(cfgPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.error({ file: e.file, key: e.key }, `Invalid config, exiting abnormally: ${e.message}`);
      process.stderr.write(`Invalid config, exiting abnormally: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (config.servers.length > 1 || (config.servers.length === 1 && !config.standaloneEnabled)) {
    logger.error('quorum mode (server.N lines) is not implemented yet; remove the server.N lines to run standalone');
    process.stderr.write('quorum mode is not implemented yet\n');
    process.exit(2);
  }
  try {
    mkdirSync(config.dataDir, { recursive: true });
  } catch (e) {
    logger.error({ dataDir: config.dataDir, err: (e as Error).message }, 'cannot create dataDir');
    process.exit(3);
  }
  const server = new StandaloneServer({ config, logger });
  try {
    await server.start();
  } catch (e) {
    logger.error({ err: (e as Error).message, port: config.clientPort }, 'failed to start the server');
    process.stderr.write(`failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const pidFile = opts.pidFile;
  if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.stop().then(
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
program
  .command('version')
  .description('print the version')
  .action(() => {
    process.stdout.write(`Apache ZooKeeper, version ${VERSION_STRING}\n`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
