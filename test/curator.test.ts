// Apache Curator 5.4 against Apache ZooKeeper 3.8 and against our server: the transcript of
// test/clients/curator/CuratorScenario.java (framework operations, transactions, watches and
// the recipes: locks, semaphores, leader election, counters, barriers, queues, caches,
// persistent and TTL nodes) from a fresh reference server must equal the one from a fresh
// server of ours, line by line. Same shape as real-clients.test.ts, with the Curator specs of
// test/clients/curator/curator-client.ts. Full transcripts of a failed comparison are written to
// $TMPDIR/zkts-transcripts/.

import { CURATOR_CLIENTS } from './clients/curator/curator-client.js';
import { defineTranscriptTests } from './helpers/real-clients.js';

defineTranscriptTests(CURATOR_CLIENTS);
