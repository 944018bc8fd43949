// Real ZooKeeper clients against Apache ZooKeeper 3.8 and against our server: for each client
// the normalized transcript from a fresh reference server must equal the one from a fresh
// server of ours. See test/helpers/real-clients.ts for the clients, how each transcript is
// normalized and the shape of each test. Full transcripts of a failed comparison are written to
// $TMPDIR/zkts-transcripts/.

import { CLIENTS, defineTranscriptTests } from './helpers/real-clients.js';

defineTranscriptTests(CLIENTS);
