// Prometheus metrics in the text exposition format, without a dependency: a few counters
// and one latency histogram, plus values read at scrape time (the caches' own counters, the
// event loop's delay, the build).
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

type Labels = Record<string, string>;

/** The series key of labels (counted on every request: no intermediate arrays, and values
 * escaped only when they hold something to escape). */
function key(labels: Labels): string {
  let out = "";
  for (const k in labels) {
    const v = labels[k]!;
    out += `${out ? "," : ""}${k}="${NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v}"`;
  }
  return out;
}
const NEEDS_ESCAPE = /[\\"\n]/;

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}
  observe(labels: Labels, value: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** A value read when scraped (cache tiers keep their own counters). */
export interface Sampled {
  name: string;
  help: string;
  type: "counter" | "gauge";
  sample: () => [Labels, number][];
}

export class Metrics {
  readonly requests = new Counter("pkgate_requests_total", "HTTP requests by route kind and status");
  readonly bytes = new Counter("pkgate_bytes_served_total", "Response body bytes sent, by route kind");
  readonly latency = new Histogram("pkgate_request_duration_seconds", "Time to the response head (downloads: to the last byte), by route kind", [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
  ]);
  readonly storeErrors = new Counter("pkgate_store_errors_total", "Requests that failed because the store was unreachable");
  readonly authFailures = new Counter("pkgate_auth_failures_total", "Requests refused for an invalid, expired or revoked token, by reason");
  private readonly sampled: Sampled[] = [];

  constructor() {
    eventLoopDelay.start();
  }

  addSampled(s: Sampled): void {
    this.sampled.push(s);
  }

  render(): string {
    const parts = [this.requests, this.bytes, this.latency, this.storeErrors, this.authFailures].map((m) => m.render());
    parts.push(eventLoopDelay.render());
    for (const s of this.sampled) {
      const lines = [`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`];
      for (const [labels, v] of s.sample()) lines.push(`${s.name}${Object.keys(labels).length ? `{${key(labels)}}` : ""} ${v}`);
      parts.push(lines.join("\n"));
    }
    const mem = process.memoryUsage();
    parts.push(`# HELP pkgate_resident_memory_bytes Resident set size\n# TYPE pkgate_resident_memory_bytes gauge\npkgate_resident_memory_bytes ${mem.rss}`);
    parts.push(`# HELP pkgate_build_info The running pkgate and Node versions\n# TYPE pkgate_build_info gauge\npkgate_build_info{${key(BUILD)}} 1`);
    return parts.join("\n") + "\n";
  }
}

/** pkgate's version, from its package.json: one directory up from src/ (run by tsx), two from
 * dist/src/ (built, and in the image). */
export function packageVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "pkgate" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not in this directory
    }
  }
  return "unknown";
}

const BUILD = { version: packageVersion(), node: process.version };

/** The timer the event-loop monitor sets: what it records beyond this is delay. */
const LOOP_RESOLUTION_MS = 10;

/** How late the event loop runs a 10 ms timer: a process that stalls (a big index parsed, a
 * synchronous hash) delays every request it holds at that moment. One monitor per process
 * (there is one event loop), started by the first Metrics. Quantiles and the
 * maximum cover the time since the previous scrape; the sum and count, the process's life. */
class EventLoopDelay {
  private histogram: IntervalHistogram | null = null;
  private sumSeconds = 0;
  private count = 0;

  start(): void {
    if (this.histogram) return;
    this.histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.histogram.enable();
  }

  render(): string {
    const h = this.histogram;
    const name = "pkgate_event_loop_delay_seconds";
    // the monitor records the whole interval; its timer's own 10 ms is not delay
    const delay = (ns: number) => (h && h.count > 0 ? Math.max(0, Math.round(ns - LOOP_RESOLUTION_MS * 1e6)) / 1e9 : NaN);
    const quantiles = [0.5, 0.9, 0.99].map((q) => `${name}{quantile="${q}"} ${delay(h?.percentile(q * 100) ?? 0)}`);
    const max = delay(h?.max ?? 0);
    if (h && h.count > 0) {
      this.sumSeconds += delay(h.mean) * h.count;
      this.count += h.count;
    }
    h?.reset();
    return [
      `# HELP ${name} How late the event loop ran a ${LOOP_RESOLUTION_MS} ms timer: quantiles since the previous scrape, sum and count since start`,
      `# TYPE ${name} summary`,
      ...quantiles,
      `${name}_sum ${this.sumSeconds}`,
      `${name}_count ${this.count}`,
      `# HELP pkgate_event_loop_delay_max_seconds The longest event-loop delay since the previous scrape`,
      `# TYPE pkgate_event_loop_delay_max_seconds gauge`,
      `pkgate_event_loop_delay_max_seconds ${max}`,
    ].join("\n");
  }
}

const eventLoopDelay = new EventLoopDelay();
