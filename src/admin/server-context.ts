/**
 * What the operator surfaces (four-letter words, AdminServer, metrics) read from a running
 * server: one narrow view, so they do not reach into the server's internals.
 */
import type { ServerConfig } from '../config/zoo-cfg';
import type { ClientConnection } from '../server/client-connection';
import type { Logger, ZooKeeperServer } from '../server/zookeeper-server';
import type { ZxidDigest } from '../tree/digest';

/** DataTree.ZxidDigest: the tree digest recorded every 128 zxids. */
export type { ZxidDigest };

export interface SnapshotInfo {
  zxid: number;
  /** Milliseconds since the epoch when the snapshot was taken. */
  timestampMs: number;
}

export interface ServerContext {
  readonly config: ServerConfig;
  readonly server: ZooKeeperServer;
  readonly logger: Logger;
  /** "3.8.0-zookeeper-ts-<version>, built on <date>" in `srvr` style. */
  readonly versionString: string;
  /** standalone | leader | follower | observer. */
  mode(): string;
  isServing(): boolean;
  connections(): Iterable<ClientConnection>;
  connectionCount(): number;
  /** ServerCnxn.dumpConnectionInfo. */
  describeConnection(c: ClientConnection, brief: boolean): string;
  /** The client port actually bound (clientPort=0 picks one); config.clientPort when absent. */
  clientPort?(): number;
  /** The digest log for `hash`; empty when the tree keeps no digests. */
  digestLog?(): ZxidDigest[];
  /** The newest snapshot for `last_snapshot`; null when there is none. */
  lastSnapshot?(): SnapshotInfo | null;
}
