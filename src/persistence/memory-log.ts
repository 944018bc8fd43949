/**
 * An in-memory log stage: txns are "durable" at the end of the current event-loop turn, batched
 * as the file log batches them around one fdatasync. The in-memory twin of the txn log, for
 * tests and simulations; it keeps nothing across restarts.
 */
import type { LogStage } from '../server/zookeeper-server';
import type { Txn } from '../tree/txn';

export class MemoryLog implements LogStage {
  readonly txns: Txn[] = [];
  private batch: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly keep = false) {}

  append(txn: Txn, done: () => void): void {
    if (this.keep) this.txns.push(txn);
    this.batch.push(done);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    for (const done of batch) done();
  }
}
