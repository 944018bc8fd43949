// Prints the normalized transcripts of the real clients, to read them by eye or to diff the
// reference against our server without the test runner:
//
//   node dist/test/helpers/print-transcripts.js ref                 every client against Apache ZooKeeper
//   node dist/test/helpers/print-transcripts.js ours kazoo cli_mt   some clients against our server
//   node dist/test/helpers/print-transcripts.js diff zkcli          both, then where they first differ
//
// Each run starts a fresh server per client and stops it afterwards.

import { CLIENTS, describeDifference, findClient, saveTranscripts, transcriptOn, transcriptProblems } from './real-clients.js';

async function main(): Promise<number> {
  const [mode, ...names] = process.argv.slice(2);
  if (mode !== 'ref' && mode !== 'ours' && mode !== 'diff') {
    console.error(`usage: node dist/test/helpers/print-transcripts.js ref|ours|diff [client...]\nclients: ${CLIENTS.map((c) => c.name).join(', ')}`);
    return 2;
  }
  const specs = names.length > 0 ? names.map(findClient) : CLIENTS;
  let status = 0;
  for (const spec of specs) {
    const missing = spec.missing();
    if (missing !== null) {
      console.log(`##### ${spec.name}: skipped, ${missing}`);
      continue;
    }
    if (mode === 'diff') {
      const ref = await transcriptOn('ref', spec);
      const ours = await transcriptOn('ours', spec).catch((err: unknown) => [`<could not run against ours: ${String(err)}>`]);
      const [refPath, oursPath] = saveTranscripts(spec.name, ref, ours);
      console.log(`##### ${spec.name}: ${describeDifference(ref, ours)}\n(diff ${refPath} ${oursPath})`);
      if (JSON.stringify(ref) !== JSON.stringify(ours)) status = 1;
      continue;
    }
    const lines = await transcriptOn(mode, spec);
    console.log(`##### ${spec.name} against ${mode === 'ref' ? 'Apache ZooKeeper' : 'our server'} (${lines.length} lines)`);
    console.log(lines.join('\n'));
    const problems = transcriptProblems(spec, lines);
    if (problems.length > 0) {
      console.log(`##### ${spec.name}: problems\n${problems.join('\n')}`);
      status = 1;
    }
  }
  return status;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
