#!/usr/bin/env node
// Before/after comparison of zookeeper-ts builds, ours only (no reference server): the way the
// hot-path figures in docs/performance.md were measured. Freeze each build first
// (scripts/bench/freeze.sh DIR [REV]) and build this checkout (npx tsc -p tsconfig.json): the
// helpers come from dist/scripts/bench.
//
//   node scripts/bench/ab.js load BUILD[@ENV=V;ENV=V] BUILD ...
//       every build up on a fresh data dir; each point runs against each build in turn (the order
//       alternates per repetition); prints ops/s, p50/p99 and the server's CPU per reply
//       (utime+stime of every thread, from /proc/PID/stat, over srvr's Sent counter) and the bytes
//       it wrote to storage per reply (write_bytes of /proc/PID/io: txn log and LMDB store), both
//       counted until the server has stopped writing after the point (deferred store writes
//       included); before each point it waits until no build writes any more
//       env: POINTS=op:bytes:CxK,.. (default set:128:1x1)  SECS (5)  REPS (2)  AB_NODE_ARGS='--cpu-prof
//       --cpu-prof-dir=DIR' node options for the servers  AB_QUIET_MS (500) disk quiet before a point
//       THREADS=1 also
//       prints the CPU per reply of each thread name (/proc/PID/task)
//   node scripts/bench/ab.js mem BUILD ...
//       fresh server per build, N znodes of 128 B over 1,000 parents (Filler.java), then RSS (with
//       its RssAnon / RssFile split) 1.5 s and 10 s after the fill, and live heap (heapUsed + the larger of external and arrayBuffers after a forced full GC, through the inspector)
//       env: N (200000)  REPS (2)  RESTART=1 also times a restart and measures again
//
// BUILD may be `ref` for the Apache ZooKeeper reference server (load mode), started as `npm run
// bench` starts it; its CPU and disk figures are the JVM's.
// BUILD@ENV=V sets environment variables for that build's server process only, e.g. to compare
// settings of one build. Results go to stdout; this script writes no files.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '../..');
const B = path.join(repo, 'dist/scripts/bench');
const { oursServer, refServer, waitDiskQuiet, writtenBytes, freePort, nodeCount, rssBytes, rssSplit, fourLetter, liveBytesOf } = require(path.join(B, 'servers.js'));
const { runFiller, buildFiller, runZkBench } = require(path.join(B, 'loadgen.js'));
const { run, sleep, runCleanups } = require(path.join(B, 'procs.js'));
const sharedDir = process.env.ZK_SHARED_DIR ?? path.resolve(repo, '../shared');
const runSh = path.join(sharedDir, 'bench/run.sh');

const mode = process.argv[2];
const specs = process.argv.slice(3);
const REPS = Number(process.env.REPS ?? 2);
if ((mode !== 'load' && mode !== 'mem') || specs.length === 0) {
  process.stderr.write('usage: node scripts/bench/ab.js load|mem BUILD[@ENV=V;..] ... (see the header)\n');
  process.exit(2);
}

const mib = (b) => +(b / 2 ** 20).toFixed(1);

/** utime + stime per thread name (comm; the main thread as "main"), in clock ticks, for THREADS=1. */
function threadTicks(pid) {
  const out = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Every thread of node is called "node": the main thread (TID = PID) is told apart.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = tid === String(pid) ? 'main' : comm;
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (1/100 s)
}

async function sentCount(port) {
  const m = /^Sent: (\d+)$/m.exec(await fourLetter(port, 'srvr'));
  return m === null ? NaN : Number(m[1]);
}

/** Starts a server for BUILD[@ENV=V;..], with those variables set for its process only. */
async function startBuild(spec, nodeArgs) {
  const [root, envs] = spec.split('@');
  const saved = { ...process.env };
  for (const kv of (envs ?? '').split(';').filter(Boolean)) {
    const eq = kv.indexOf('=');
    process.env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-ab-'));
  if (root === 'ref') {
    // Apache ZooKeeper itself, as `npm run bench` starts it (ref-zk.sh, -Xmx2g).
    const s = refServer({ refScript: path.join(sharedDir, 'tools/ref-zk.sh'), dir, port: await freePort(), heap: '2g' });
    await s.start();
    return { spec, s, dir };
  }
  const s = oursServer({ repoRoot: path.resolve(root), dir, port: await freePort(), nodeArgs });
  try {
    await s.start();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return { spec, s, dir };
}

async function stopBuild(b) {
  await b.s.stop();
  fs.rmSync(b.dir, { recursive: true, force: true });
}

async function liveHeap(pid, inspectPort) {
  process.kill(pid, 'SIGUSR1');
  const r = await run(process.execPath, ['--experimental-websocket', '--no-warnings', path.join(B, 'inspector-heap.js'), `127.0.0.1:${inspectPort}`], {
    timeoutMs: 120_000,
  });
  const m = JSON.parse(r.stdout.trim());
  const live = liveBytesOf(m);
  return { heapUsedMiB: mib(m.heapUsed), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers), liveMiB: mib(live), live };
}

async function memory(spec, n) {
  const inspectPort = await freePort();
  const b = await startBuild(spec, [`--inspect-port=127.0.0.1:${inspectPort}`]);
  try {
    await sleep(500);
    const rss0 = rssBytes(b.s.pid());
    const classes = await buildFiller(path.join(repo, 'scripts/bench/Filler.java'));
    const f = await runFiller(classes, { connect: b.s.connectString, root: '/fill', nodes: n, parents: 1000, valueBytes: 128, clients: 4, outstanding: 250 });
    await sleep(1500);
    const rss1 = rssBytes(b.s.pid());
    const split1 = rssSplit(b.s.pid());
    // A second reading 10 s after the fill, before the forced GC: what idle-time collection left.
    await sleep(8500);
    const rss10 = rssBytes(b.s.pid());
    const split10 = rssSplit(b.s.pid());
    const h = await liveHeap(b.s.pid(), inspectPort);
    const out = {
      build: spec,
      fillPerS: Math.round(f.opsPerSec),
      rssMiB: mib(rss1),
      rssAnonMiB: mib(split1.anonBytes),
      rssFileMiB: mib(split1.fileBytes),
      rss10sMiB: mib(rss10),
      rss10sAnonMiB: mib(split10.anonBytes),
      rss10sFileMiB: mib(split10.fileBytes),
      rssPerZnode: Math.round((rss1 - rss0) / n),
      ...h,
      livePerZnode: Math.round(h.live / n),
      load: +os.loadavg()[0].toFixed(1),
    };
    delete out.live;
    await b.s.stop();
    if (process.env.RESTART) {
      const t0 = await b.s.start();
      for (;;) {
        const c = await nodeCount(b.s.port);
        if (c !== null && c >= n) break;
        await sleep(20);
      }
      out.restartMs = Math.round(performance.now() - t0);
      await sleep(1000);
      out.restartRssMiB = mib(rssBytes(b.s.pid()));
      const split2 = rssSplit(b.s.pid());
      out.restartRssAnonMiB = mib(split2.anonBytes);
      out.restartRssFileMiB = mib(split2.fileBytes);
      out.restartLiveMiB = (await liveHeap(b.s.pid(), inspectPort)).liveMiB;
    }
    return out;
  } finally {
    await stopBuild(b);
  }
}

function parsePoint(s) {
  const [op, bytes, conc] = s.split(':');
  const [clients, outstanding] = conc.split('x').map(Number);
  return { op, valueBytes: Number(bytes), clients, outstanding };
}

async function main() {
  if (mode === 'mem') {
    const n = Number(process.env.N ?? 200_000);
    for (let r = 0; r < REPS; r++) for (const spec of r % 2 ? [...specs].reverse() : specs) console.log(JSON.stringify(await memory(spec, n)));
    return;
  }
  const secs = Number(process.env.SECS ?? 5);
  const points = (process.env.POINTS ?? 'set:128:1x1').split(',').map(parsePoint);
  const builds = [];
  try {
    // AB_NODE_ARGS: node options for every build's server (e.g. --cpu-prof --cpu-prof-dir=DIR).
    const nodeArgs = (process.env.AB_NODE_ARGS ?? '').split(' ').filter(Boolean);
    for (const spec of specs) builds.push(await startBuild(spec, nodeArgs));
    // Warm-up, not recorded (JIT).
    for (const b of builds) await runZkBench(runSh, b.s.connectString, { op: 'create', valueBytes: 128, clients: 4, outstanding: 8 }, 2);
    const all = new Map();
    for (let r = 0; r < REPS; r++)
      for (const p of points)
        for (const b of r % 2 ? [...builds].reverse() : builds) {
          const pid = b.s.pid();
          // No build's background writes (ours: the snapshot store once quiet) in another's point.
          await waitDiskQuiet(builds.map((x) => x.s.pid()), Number(process.env.AB_QUIET_MS ?? 500));
          const c0 = cpuTicks(pid);
          const d0 = writtenBytes(pid);
          const t0 = process.env.THREADS ? threadTicks(pid) : null;
          const s0 = await sentCount(b.s.port);
          const x = await runZkBench(runSh, b.s.connectString, p, secs);
          const replies = (await sentCount(b.s.port)) - s0;
          // CPU and disk include what the point left to do in the background (our store's round).
          await waitDiskQuiet([pid]);
          const cpuUs = ((cpuTicks(pid) - c0) * 10_000) / replies;
          const diskKb = (writtenBytes(pid) - d0) / 1024 / replies;
          if (t0 !== null) {
            const per = [...threadTicks(pid)].map(([n, t]) => [n, ((t - (t0.get(n) ?? 0)) * 10_000) / replies]).filter(([, us]) => us >= 0.5);
            console.log(`  CPU µs/reply by thread: ${per.map(([n, us]) => `${n} ${us.toFixed(1)}`).join(', ')}`);
          }
          const key = `${p.op} ${p.valueBytes} B ${p.clients}x${p.outstanding}`;
          console.log(`${key} ${b.spec}: ${Math.round(x.opsPerSec)} ops/s, p50 ${x.p50Us} µs, p99 ${x.p99Us} µs, CPU ${cpuUs.toFixed(1)} µs/reply, disk ${diskKb.toFixed(2)} KiB/reply (load ${os.loadavg()[0].toFixed(1)})`);
          if (!all.has(key)) all.set(key, new Map());
          const per = all.get(key);
          if (!per.has(b.spec)) per.set(b.spec, []);
          per.get(b.spec).push({ ...x, cpuUs, diskKb });
        }
    console.log('\nsummary (one value per repetition):');
    for (const [key, per] of all) {
      for (const [spec, xs] of per) {
        const f = (g) => xs.map(g).join(' / ');
        console.log(`${key} ${spec}: ops/s ${f((x) => Math.round(x.opsPerSec))}; p50 µs ${f((x) => x.p50Us)}; p99 µs ${f((x) => x.p99Us)}; CPU µs/reply ${f((x) => x.cpuUs.toFixed(1))}; disk KiB/reply ${f((x) => x.diskKb.toFixed(2))}`);
      }
    }
  } finally {
    for (const b of builds) await stopBuild(b);
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
