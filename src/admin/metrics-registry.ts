/**
 * Server metrics (Apache ZooKeeper's ServerMetrics with its DefaultMetricsProvider): counters,
 * summaries, summary sets and gauges under ZooKeeper's metric names. Pure bookkeeping: `mntr`,
 * the AdminServer's `monitor` and the Prometheus endpoint all read from here.
 *
 * Any part of the server reports through `ZooKeeperServer.stats.metrics`, e.g.
 *   stats.metrics.summary('fsynctime').add(elapsedMs)
 *   stats.metrics.counter('outstanding_changes_queued').add(1)
 * Listeners (the Prometheus exporter) see every observation as it happens.
 *
 * Values are whole numbers as in Java (longs); fractions are truncated on the way in.
 * Advanced summaries keep a uniform reservoir of 4096 samples for their percentiles, as
 * AvgMinMaxPercentileCounter does.
 */
import { JDouble, jdouble } from './json-output';
import { round4 } from './java-format';
import { javaConcurrentHashMapOrder } from '../tree/java-hash-order';
import {
  ADVANCED_SUMMARIES,
  ADVANCED_SUMMARY_SETS,
  BASIC_SUMMARIES,
  BASIC_SUMMARY_SETS,
  COUNTERS,
  COUNTER_SETS,
  type CounterName,
  type CounterSetName,
  type SummaryName,
  type SummarySetName,
} from './metric-catalog';

/** A value as MonitorCommand prints it: integer (long), double, or text. */
export type MetricValue = number | bigint | JDouble | string;

export type MetricSink = (key: string, value: MetricValue) => void;

export interface MetricsListener {
  counter(name: string, delta: number, key?: string): void;
  summary(name: string, value: number, advanced: boolean, key?: string): void;
}

const RESERVOIR_SIZE = 4096;

export class Counter {
  private value = 0;
  constructor(
    readonly name: string,
    private readonly registry: MetricsRegistry,
    private readonly setName?: string,
    private readonly key?: string,
  ) {}

  add(delta: number): void {
    const d = Math.trunc(delta);
    this.value += d;
    this.registry.notifyCounter(this.setName ?? this.name, d, this.key);
  }

  get(): number {
    return this.value;
  }

  reset(): void {
    this.value = 0;
  }

  values(sink: MetricSink, prefix: string): void {
    sink(prefix, this.value);
  }
}

/** AvgMinMaxCounter, plus the percentile reservoir when advanced. */
export class Summary {
  private total = 0;
  private count = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private reservoir: number[] = [];
  private seen = 0;

  constructor(
    readonly name: string,
    readonly advanced: boolean,
    private readonly registry: MetricsRegistry,
    private readonly random: () => number,
    private readonly setName?: string,
    private readonly key?: string,
  ) {}

  add(value: number): void {
    const v = Math.trunc(value);
    this.total += v;
    this.count++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.advanced) {
      this.seen++;
      if (this.reservoir.length < RESERVOIR_SIZE) this.reservoir.push(v);
      else {
        const r = Math.floor(this.random() * this.seen);
        if (r < RESERVOIR_SIZE) this.reservoir[r] = v;
      }
    }
    this.registry.notifySummary(this.setName ?? this.name, v, this.advanced, this.key);
  }

  avg(): number {
    return this.count === 0 ? 0 : round4(this.total / this.count);
  }

  getMin(): number {
    return this.count === 0 ? 0 : this.min;
  }

  getMax(): number {
    return this.count === 0 ? 0 : this.max;
  }

  getCount(): number {
    return this.count;
  }

  getTotal(): number {
    return this.total;
  }

  /** Dropwizard's UniformSnapshot.getValue, rounded as Math.round does. */
  quantile(q: number): number {
    const values = [...this.reservoir].sort((a, b) => a - b);
    if (values.length === 0) return 0;
    const pos = q * (values.length + 1);
    const index = Math.floor(pos);
    if (index < 1) return values[0]!;
    if (index >= values.length) return values[values.length - 1]!;
    const lower = values[index - 1]!;
    const upper = values[index]!;
    return Math.round(lower + (pos - index) * (upper - lower));
  }

  reset(): void {
    this.total = 0;
    this.count = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.reservoir = [];
    this.seen = 0;
  }

  values(sink: MetricSink): void {
    const n = this.name;
    sink(`avg_${n}`, jdouble(this.avg()));
    sink(`min_${n}`, this.getMin());
    sink(`max_${n}`, this.getMax());
    sink(`cnt_${n}`, this.count);
    sink(`sum_${n}`, this.total);
    if (this.advanced) {
      sink(`p50_${n}`, this.quantile(0.5));
      sink(`p95_${n}`, this.quantile(0.95));
      sink(`p99_${n}`, this.quantile(0.99));
      sink(`p999_${n}`, this.quantile(0.999));
    }
  }
}

/**
 * The keys of a per-key set in the order Java's ConcurrentHashMap iterates them (which is how
 * ZooKeeper prints them), recomputed only when a key was added.
 */
class KeyOrder {
  private order: string[] = [];
  private known = 0;

  of(byKey: ReadonlyMap<string, unknown>): string[] {
    if (byKey.size !== this.known) {
      this.order = javaConcurrentHashMapOrder(byKey.keys());
      this.known = byKey.size;
    }
    return this.order;
  }
}

/** A summary per key (namespace, learner...), named `<key>_<set name>`. */
export class SummarySet {
  private readonly byKey = new Map<string, Summary>();
  private readonly order = new KeyOrder();
  /** Bounds memory: keys come from client paths, so a hostile client could mint many. */
  static readonly MAX_KEYS = 10000;

  constructor(
    readonly name: string,
    readonly advanced: boolean,
    private readonly registry: MetricsRegistry,
    private readonly random: () => number,
  ) {}

  add(key: string, value: number): void {
    let s = this.byKey.get(key);
    if (s === undefined) {
      if (this.byKey.size >= SummarySet.MAX_KEYS) return;
      s = new Summary(`${key}_${this.name}`, this.advanced, this.registry, this.random, this.name, key);
      this.byKey.set(key, s);
    }
    s.add(value);
  }

  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  reset(): void {
    for (const s of this.byKey.values()) s.reset();
  }

  values(sink: MetricSink): void {
    for (const k of this.order.of(this.byKey)) this.byKey.get(k)!.values(sink);
  }
}

export class CounterSet {
  private readonly byKey = new Map<string, Counter>();
  private readonly order = new KeyOrder();

  constructor(
    readonly name: string,
    private readonly registry: MetricsRegistry,
  ) {}

  add(key: string, delta: number): void {
    let c = this.byKey.get(key);
    if (c === undefined) {
      if (this.byKey.size >= SummarySet.MAX_KEYS) return;
      c = new Counter(`${key}_${this.name}`, this.registry, this.name, key);
      this.byKey.set(key, c);
    }
    c.add(delta);
  }

  reset(): void {
    for (const c of this.byKey.values()) c.reset();
  }

  values(sink: MetricSink): void {
    for (const k of this.order.of(this.byKey)) {
      const c = this.byKey.get(k)!;
      c.values(sink, c.name);
    }
  }
}

export type Gauge = () => MetricValue | null;

export class MetricsRegistry {
  private readonly counters = new Map<string, Counter>();
  private readonly counterSets = new Map<string, CounterSet>();
  private readonly basicSummaries = new Map<string, Summary>();
  private readonly summaries = new Map<string, Summary>();
  private readonly basicSummarySets = new Map<string, SummarySet>();
  private readonly summarySets = new Map<string, SummarySet>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly listeners = new Set<MetricsListener>();

  constructor(random: () => number = Math.random) {
    // Registered up front, in the order Apache ZooKeeper prints them.
    for (const n of COUNTERS) this.counters.set(n, new Counter(n, this));
    for (const n of COUNTER_SETS) this.counterSets.set(n, new CounterSet(n, this));
    for (const n of BASIC_SUMMARIES) this.basicSummaries.set(n, new Summary(n, false, this, random));
    for (const n of ADVANCED_SUMMARIES) this.summaries.set(n, new Summary(n, true, this, random));
    for (const n of BASIC_SUMMARY_SETS) this.basicSummarySets.set(n, new SummarySet(n, false, this, random));
    for (const n of ADVANCED_SUMMARY_SETS) this.summarySets.set(n, new SummarySet(n, true, this, random));
  }

  counter(name: CounterName): Counter {
    return this.counters.get(name)!;
  }

  counterSet(name: CounterSetName): CounterSet {
    return this.counterSets.get(name)!;
  }

  summary(name: SummaryName): Summary {
    return (this.basicSummaries.get(name) ?? this.summaries.get(name))!;
  }

  summarySet(name: SummarySetName): SummarySet {
    return (this.basicSummarySets.get(name) ?? this.summarySets.get(name))!;
  }

  registerGauge(name: string, gauge: Gauge): void {
    this.gauges.set(name, gauge);
  }

  unregisterGauge(name: string): void {
    this.gauges.delete(name);
  }

  gaugeNames(): IterableIterator<string> {
    return this.gauges.keys();
  }

  readGauge(name: string): MetricValue | null {
    const g = this.gauges.get(name);
    return g === undefined ? null : g();
  }

  allCounters(): IterableIterator<Counter> {
    return this.counters.values();
  }

  /** Every summary: [name, advanced]. */
  summaryNames(): [string, boolean][] {
    return [...[...this.basicSummaries.keys()].map((n): [string, boolean] => [n, false]), ...[...this.summaries.keys()].map((n): [string, boolean] => [n, true])];
  }

  summarySetNames(): [string, boolean][] {
    return [...[...this.basicSummarySets.keys()].map((n): [string, boolean] => [n, false]), ...[...this.summarySets.keys()].map((n): [string, boolean] => [n, true])];
  }

  counterSetNames(): string[] {
    return [...this.counterSets.keys()];
  }

  addListener(l: MetricsListener): void {
    this.listeners.add(l);
  }

  removeListener(l: MetricsListener): void {
    this.listeners.delete(l);
  }

  notifyCounter(name: string, delta: number, key?: string): void {
    for (const l of this.listeners) l.counter(name, delta, key);
  }

  notifySummary(name: string, value: number, advanced: boolean, key?: string): void {
    for (const l of this.listeners) l.summary(name, value, advanced, key);
  }

  /** DefaultMetricsContext.dump: gauges, counters, counter sets, summaries, summary sets. */
  dump(sink: MetricSink): void {
    for (const [name, g] of this.gauges) {
      const v = g();
      if (v !== null) sink(name, v);
    }
    for (const c of this.counters.values()) c.values(sink, c.name);
    for (const c of this.counterSets.values()) c.values(sink);
    for (const s of this.basicSummaries.values()) s.values(sink);
    for (const s of this.summaries.values()) s.values(sink);
    for (const s of this.basicSummarySets.values()) s.values(sink);
    for (const s of this.summarySets.values()) s.values(sink);
  }

  /** ServerMetrics.resetAll (srst): everything but the gauges. */
  reset(): void {
    for (const c of this.counters.values()) c.reset();
    for (const c of this.counterSets.values()) c.reset();
    for (const s of this.basicSummaries.values()) s.reset();
    for (const s of this.summaries.values()) s.reset();
    for (const s of this.basicSummarySets.values()) s.reset();
    for (const s of this.summarySets.values()) s.reset();
  }
}
