// Apache Curator 5.4 against Apache ZooKeeper 3.8 and against our server: the transcript of
// test/clients/curator/CuratorScenario.java (framework operations, transactions, watches and
// the recipes: locks, semaphores, leader election, counters, barriers, queues, caches,
// persistent and TTL nodes) from a fresh reference server must equal the one from a fresh
// server of ours, line by line. Same shape as real-clients.test.ts, with the Curator specs of
// test/clients/curator/curator-client.ts. Full transcripts of a failed comparison are written to
// $TMPDIR/zkts-transcripts/.

import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { CURATOR_CLIENTS } from './clients/curator/curator-client.js';
import { describeDifference, saveTranscripts, transcriptOn, transcriptProblems, type ClientSpec } from './helpers/real-clients.js';
import { requireRef, type ServerKind } from './helpers/servers.js';

/** Like requireRef, for Curator and the Java compiler: they are part of the reference too. */
function requireClient(t: TestContext, spec: ClientSpec): boolean {
  const missing = spec.missing();
  if (missing === null) return true;
  if (process.env['CI'] === 'true') throw new Error(`${spec.name}: ${missing}`);
  console.log(`# skipping ${spec.name}: ${missing}`);
  t.skip(missing);
  return false;
}

async function take(t: TestContext, kind: ServerKind, spec: ClientSpec): Promise<string[]> {
  // withServer stops the server when the client finishes; the after hook covers a test that is
  // cancelled (for instance by its timeout) while the client is still running.
  return transcriptOn(kind, spec, (stop) => t.after(stop));
}

for (const spec of CURATOR_CLIENTS) {
  test(`${spec.name}: our server gives the same transcript as Apache ZooKeeper`, { timeout: 300_000 }, async (t) => {
    if (!requireRef(t) || !requireClient(t, spec)) return;

    let ref: string[] = [];
    await t.test('reference transcript is sane', async (t2) => {
      ref = await take(t2, 'ref', spec);
      const problems = transcriptProblems(spec, ref);
      assert.deepEqual(problems, [], `${spec.name} against Apache ZooKeeper:\n${problems.join('\n')}\n---\n${ref.join('\n')}`);
    });

    await t.test('our transcript equals the reference', async (t2) => {
      assert.ok(ref.length > 0, 'no reference transcript to compare with');
      const ours = await take(t2, 'ours', spec);
      if (JSON.stringify(ours) !== JSON.stringify(ref)) {
        const [refPath, oursPath] = saveTranscripts(spec.name, ref, ours);
        assert.fail(`${spec.name}: transcripts differ\n${describeDifference(ref, ours)}\nfull transcripts: diff ${refPath} ${oursPath}`);
      }
    });
  });
}
