/**
 * `envi` and the AdminServer's `environment` / `system_properties`: Apache ZooKeeper lists its
 * JVM's properties under fixed keys (Environment.list). Tools parse those keys, so we keep them
 * and fill in what this Node.js process really is (java.version carries the Node.js version,
 * java.home the Node.js installation, and so on).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { SystemProperties } from '../config/system-properties';

const MB = 1024 * 1024;

/** os.arch as Java names it. */
function javaArch(): string {
  const a = os.arch();
  if (a === 'x64') return 'amd64';
  if (a === 'arm64') return 'aarch64';
  if (a === 'ia32') return 'x86';
  return a;
}

function javaOsName(): string {
  const t = os.type();
  if (t === 'Darwin') return 'Mac OS X';
  if (t === 'Windows_NT') return 'Windows';
  return t;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? '<NA>';
  }
}

/** Environment.list, in its order. */
export function environmentEntries(versionString: string): [string, string][] {
  const heap = process.memoryUsage();
  const limit = v8.getHeapStatistics().heap_size_limit;
  return [
    ['zookeeper.version', versionString],
    ['host.name', os.hostname() || '<NA>'],
    ['java.version', process.version],
    ['java.vendor', 'Node.js'],
    ['java.home', path.dirname(path.dirname(process.execPath))],
    ['java.class.path', process.argv[1] ?? '<NA>'],
    ['java.library.path', process.env['LD_LIBRARY_PATH'] ?? ''],
    ['java.io.tmpdir', os.tmpdir()],
    ['java.compiler', '<NA>'],
    ['os.name', javaOsName()],
    ['os.arch', javaArch()],
    ['os.version', os.release()],
    ['user.name', userName()],
    ['user.home', os.homedir()],
    ['user.dir', process.cwd()],
    ['os.memory.free', `${Math.floor((heap.heapTotal - heap.heapUsed) / MB)}MB`],
    ['os.memory.max', `${Math.floor(limit / MB)}MB`],
    ['os.memory.total', `${Math.floor(heap.heapTotal / MB)}MB`],
  ];
}

/**
 * The "system properties" of this server: the platform ones a JVM always has, then every -D
 * flag from JVMFLAGS/SERVER_JVMFLAGS and every zoo.cfg key that became zookeeper.<key>; sorted
 * by key as SystemPropertiesCommand sorts them.
 */
export function systemProperties(props: SystemProperties): [string, string][] {
  const m = new Map<string, string>([
    ['file.encoding', 'UTF-8'],
    ['file.separator', path.sep],
    ['java.class.path', process.argv[1] ?? ''],
    ['java.home', path.dirname(path.dirname(process.execPath))],
    ['java.io.tmpdir', os.tmpdir()],
    ['java.library.path', process.env['LD_LIBRARY_PATH'] ?? ''],
    ['java.runtime.name', 'Node.js'],
    ['java.runtime.version', process.version],
    ['java.vendor', 'Node.js'],
    ['java.version', process.version],
    ['java.vm.name', 'V8'],
    ['java.vm.version', process.versions.v8],
    ['line.separator', os.EOL],
    ['native.encoding', 'UTF-8'],
    ['os.arch', javaArch()],
    ['os.name', javaOsName()],
    ['os.version', os.release()],
    ['path.separator', path.delimiter],
    ['sun.java.command', process.argv.slice(1).join(' ')],
    ['user.dir', process.cwd()],
    ['user.home', os.homedir()],
    ['user.language', (Intl.DateTimeFormat().resolvedOptions().locale ?? 'en').split('-')[0]!],
    ['user.name', userName()],
    ['user.timezone', Intl.DateTimeFormat().resolvedOptions().timeZone ?? ''],
  ]);
  for (const [k, v] of props.entries()) m.set(k, v);
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
