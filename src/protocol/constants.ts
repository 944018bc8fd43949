/**
 * Protocol constants of Apache ZooKeeper 3.8: opcodes (ZooDefs.OpCode), error codes
 * (KeeperException.Code), watch event types and states (Watcher.Event), permissions
 * (ZooDefs.Perms), create modes (CreateMode) and special xids (ClientCnxn).
 */

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** Opcodes a client may send (Request.isValid in Apache ZooKeeper). */
export const VALID_CLIENT_OPCODES: ReadonlySet<number> = new Set([
  OpCode.check,
  OpCode.closeSession,
  OpCode.create,
  OpCode.create2,
  OpCode.createTTL,
  OpCode.createContainer,
  OpCode.createSession,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.exists,
  OpCode.getACL,
  OpCode.getChildren,
  OpCode.getAllChildrenNumber,
  OpCode.getChildren2,
  OpCode.getData,
  OpCode.getEphemerals,
  OpCode.multi,
  OpCode.multiRead,
  OpCode.ping,
  OpCode.reconfig,
  OpCode.setACL,
  OpCode.setData,
  OpCode.setWatches,
  OpCode.setWatches2,
  OpCode.sync,
  OpCode.checkWatches,
  OpCode.removeWatches,
  OpCode.addWatch,
  OpCode.whoAmI,
]);

/** Opcodes that become txns (Request.isQuorum / needsTxn in Apache ZooKeeper). */
export const WRITE_OPCODES: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createTTL,
  OpCode.createContainer,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.reconfig,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.createSession,
  OpCode.closeSession,
]);

/** Short names used in logs, `cons` and `stat` output (Request.op2String). */
export const OP_NAMES: Readonly<Record<number, string>> = {
  0: 'notification',
  1: 'create',
  2: 'delete',
  3: 'exists',
  4: 'getData',
  5: 'setData',
  6: 'getACL',
  7: 'setACL',
  8: 'getChildren',
  9: 'sync',
  11: 'ping',
  12: 'getChildren2',
  13: 'check',
  14: 'multi',
  15: 'create2',
  16: 'reconfig',
  17: 'checkWatches',
  18: 'removeWatches',
  19: 'createContainer',
  20: 'deleteContainer',
  21: 'createTtl',
  22: 'multiRead',
  100: 'auth',
  101: 'setWatches',
  102: 'sasl',
  103: 'getEphemerals',
  104: 'getAllChildrenNumber',
  105: 'setWatches2',
  106: 'addWatch',
  107: 'whoAmI',
  [-10]: 'createSession',
  [-11]: 'closeSession',
  [-1]: 'error',
};

export const Err = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;

export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;

export const KeeperState = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const;

export const Perms = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const;

/** CreateMode flags as sent in CreateRequest.flags. */
export const CreateFlag = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;

/** WatcherType as sent in CheckWatchesRequest/RemoveWatchesRequest.type. */
export const WatcherType = { Children: 1, Data: 2, Any: 3 } as const;

/** AddWatchMode as sent in AddWatchRequest.mode. */
export const AddWatchMode = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;

/** Special xids (ClientCnxn). */
export const Xid = {
  NOTIFICATION: -1,
  PING: -2,
  AUTH: -4,
  SET_WATCHES: -8,
} as const;
