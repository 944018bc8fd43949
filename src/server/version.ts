/**
 * The version we report. Clients and scripts parse Apache ZooKeeper's version line, so we give
 * the protocol version we implement first, then our own.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

function ownVersion(): string {
  for (const p of [path.join(__dirname, '../../../package.json'), path.join(__dirname, '../../package.json')]) {
    try {
      return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    } catch {
      // Try the next layout.
    }
  }
  return '0.0.0';
}

export const ZOOKEEPER_PROTOCOL_VERSION = '3.8.0';
export const PACKAGE_VERSION = ownVersion();
export const VERSION_STRING = `${ZOOKEEPER_PROTOCOL_VERSION}-zookeeper-ts-${PACKAGE_VERSION}, built on ${new Date(0).toISOString().slice(0, 10)} 00:00 UTC`;
