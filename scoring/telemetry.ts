/**
 * Application Insights records of a replica, as Azure ML v1 wrote them for a service with
 * `appInsightsEnabled`, through Azure Monitor's OpenTelemetry exporter:
 *
 * - request: a SERVER span per scoring request (RequestData): operation name `<method> <path>`,
 *   status, duration, and the properties `service`, `version`, `replica`, `x-ms-request-id`; its
 *   trace is the caller's (the router's `traceparent`), so the record's operation id is the W3C
 *   trace id the router logs. A mirrored copy's span links to the original (core/contracts/traceContext.ts).
 * - trace: a log record (MessageData) per line the entry script prints, in the context of the
 *   request that printed it (JS: console.* within init()/run(); Python: the worker's stdout and
 *   stderr), with `stream` and `phase` (init or run) properties.
 * - exception: a log record (ExceptionData) for an init() failure and for each run() error.
 *
 * What is never recorded: request and answer bodies, headers other than the request id (keys
 * travel in `Authorization`, which no record carries), query strings (the operation name is the path).
 *
 * Without a connection string (local mode) the same records go to a JSON Lines file.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { format } from "node:util";
import { AzureMonitorLogExporter, AzureMonitorTraceExporter, type AzureMonitorExporterOptions } from "@azure/monitor-opentelemetry-exporter";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Context, type Link, type Span } from "@opentelemetry/api";
import { SeverityNumber, type Logger as OtelLogger } from "@opentelemetry/api-logs";
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { mirroredFrom, parseTraceparent } from "../core/contracts/traceContext";

/**
 * The exporter's own usage reports ("statsbeat") go to Microsoft's endpoints, not the
 * resource's: off, so that a replica talks only to the ingestion endpoint its connection string
 * names (the cluster's firewall allows that one).
 */
const NO_STATSBEAT_ENV = "APPLICATION_INSIGHTS_NO_STATSBEAT";

export interface TelemetryOptions {
  service: string;
  replica: string;
  /** Application Insights connection string (secret: never logged). */
  connectionString?: string;
  /** Without a connection string: the JSON Lines file the records go to. */
  file?: string;
  /** With a connection string: the exporter's HTTP options, e.g. `tlsOptions.ca` for an endpoint with a private CA (the exporter only speaks HTTPS). */
  http?: Pick<AzureMonitorExporterOptions, "tlsOptions">;
}

/** What a record is attached to: a request's span, or the replica's init(). */
type Scope = { phase: "run"; span: Span; context: Context; stderr: string[] } | { phase: "init" };
/** Lines of a request's stderr kept for its exception record (a Python traceback). */
const MAX_STDERR_LINES = 200;

/** A scoring request being recorded. */
export interface RequestRecord {
  /** Runs `fn` with this request as the scope of what it prints and throws. */
  run<T>(fn: () => T): T;
  /** An error of run(): an exception record in this request's operation. */
  exception(err: { name?: string; message: string; stack?: string }): void;
  /**
   * A Python run() raised: the worker printed the traceback to stderr (as Azure ML's server
   * does), already recorded as this request's trace records; its last line names the exception.
   */
  pythonRunFailed(): void;
  /** Ends the request record with the answer's status (idempotent). */
  end(status: number): void;
  /** The W3C trace id the record carries (the router's, when it sent a traceparent). */
  readonly traceId: string;
}

export class Telemetry {
  private readonly scope = new AsyncLocalStorage<Scope>();
  private readonly tracerProvider: BasicTracerProvider;
  private readonly loggerProvider: LoggerProvider;
  private readonly logger: OtelLogger;
  private restoreConsole?: () => void;
  /** init() failures already recorded: the server and the process's exit both report the one that ends the replica. */
  private readonly recordedFailures = new WeakSet<object>();

  private constructor(
    private readonly opts: TelemetryOptions,
    spans: SpanExporter,
    logs: LogRecordExporter,
  ) {
    const resource = resourceFromAttributes({ "service.name": opts.service, "service.instance.id": opts.replica });
    // Every request is recorded, as v1 did: the caller's sampled flag does not drop records.
    this.tracerProvider = new BasicTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor(spans, { scheduledDelayMillis: 1_000 })] });
    this.loggerProvider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor(logs, { scheduledDelayMillis: 1_000 })] });
    this.logger = this.loggerProvider.getLogger("aks-inference-scoring");
  }

  /** The replica's telemetry, or undefined when the service has neither a connection string nor a local file. */
  static create(opts: TelemetryOptions): Telemetry | undefined {
    if (opts.connectionString) {
      process.env[NO_STATSBEAT_ENV] ??= "true";
      // Offline storage would write undelivered records (printed lines included) to the
      // replica's disk for a later retry: a lost batch is preferred to that.
      const exporterOptions: AzureMonitorExporterOptions = { ...opts.http, connectionString: opts.connectionString, disableOfflineStorage: true };
      return new Telemetry(opts, new AzureMonitorTraceExporter(exporterOptions), new AzureMonitorLogExporter(exporterOptions));
    }
    if (opts.file) {
      const file = new JsonLinesFile(opts.file);
      return new Telemetry(opts, file, file);
    }
    return undefined;
  }

  /**
   * Starts the record of one scoring request. `traceparent`/`tracestate`: the request's headers
   * (the router's); without a valid traceparent the request starts a trace of its own.
   */
  request(r: { method: string; path: string; requestId: string; version?: string; traceparent?: string; tracestate?: string }): RequestRecord {
    const parent = parseTraceparent(r.traceparent);
    const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.parentId, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
    const original = parent && mirroredFrom(r.tracestate);
    const links: Link[] = original ? [{ context: { traceId: parent.traceId, spanId: original, traceFlags: TraceFlags.SAMPLED }, attributes: { "aksinf.link": "mirror-of" } }] : [];
    const span = this.tracerProvider.getTracer("aks-inference-scoring").startSpan(
      `${r.method} ${r.path}`,
      {
        kind: SpanKind.SERVER,
        links,
        attributes: {
          "http.request.method": r.method,
          "http.route": r.path,
          service: this.opts.service,
          version: r.version ?? "",
          replica: this.opts.replica,
          "x-ms-request-id": r.requestId,
        },
      },
      parentContext,
    );
    const scope: Scope = { phase: "run", span, context: trace.setSpan(ROOT_CONTEXT, span), stderr: [] };
    let ended = false;
    return {
      traceId: span.spanContext().traceId,
      run: (fn) => this.scope.run(scope, fn),
      exception: (err) => this.emitException(err, scope),
      pythonRunFailed: () => {
        const last = [...scope.stderr].reverse().find((line) => line.trim() !== "") ?? "";
        const named = /^([A-Za-z_][\w.]*): ?(.*)$/.exec(last.trim());
        this.emitException({ name: named?.[1] ?? "PythonError", message: named ? named[2] : "run() raised an exception", stack: scope.stderr.join("\n") || undefined }, scope);
      },
      end: (status) => {
        if (ended) return;
        ended = true;
        span.setAttribute("http.response.status_code", status);
        span.setStatus({ code: status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.OK });
        span.end();
      },
    };
  }

  /** Runs the entry script's init() with "init" as the scope of what it prints. */
  init<T>(fn: () => T): T {
    return this.scope.run({ phase: "init" }, fn);
  }

  /** An init() failure (the package's download included): an exception record outside any request, once per error. */
  initFailed(err: { name?: string; message: string; stack?: string }): void {
    if (this.recordedFailures.has(err)) return;
    this.recordedFailures.add(err);
    this.emitException(err, { phase: "init" });
  }

  /** A line the entry script printed: a trace record in the scope it was printed in (none: the replica's own, not recorded). */
  trace(line: string, stream: "stdout" | "stderr"): void {
    const scope = this.scope.getStore();
    if (!scope) return;
    if (scope.phase === "run" && stream === "stderr" && scope.stderr.length < MAX_STDERR_LINES) scope.stderr.push(line);
    this.logger.emit({
      body: line,
      severityNumber: stream === "stderr" ? SeverityNumber.WARN : SeverityNumber.INFO,
      attributes: { stream, phase: scope.phase, service: this.opts.service },
      context: scope.phase === "run" ? scope.context : ROOT_CONTEXT,
    });
  }

  /**
   * JavaScript entry scripts print with console.*: what they print within init() or run()
   * becomes trace records (and is still printed). The server's own output goes through pino, not console.
   */
  captureConsole(): void {
    if (this.restoreConsole) return;
    const methods = ["log", "info", "debug", "warn", "error"] as const;
    const originals = methods.map((m) => console[m]);
    methods.forEach((m, i) => {
      const original = originals[i];
      console[m] = (...args: unknown[]) => {
        original.apply(console, args);
        const text = format(...args);
        for (const line of text.split("\n")) this.trace(line, m === "warn" || m === "error" ? "stderr" : "stdout");
      };
    });
    this.restoreConsole = () => methods.forEach((m, i) => (console[m] = originals[i]));
  }

  private emitException(err: { name?: string; message: string; stack?: string }, scope: Scope): void {
    this.logger.emit({
      body: err.message,
      severityNumber: SeverityNumber.ERROR,
      attributes: {
        "exception.type": err.name || "Error",
        "exception.message": err.message,
        // The exporter writes an exception record only with a stack; an error without one gets its message.
        "exception.stacktrace": err.stack || err.message,
        phase: scope.phase,
        service: this.opts.service,
      },
      context: scope.phase === "run" ? scope.context : ROOT_CONTEXT,
    });
  }

  /** Sends what is pending (the replica drains or fails): bounded by the exporters' own timeouts. */
  async shutdown(): Promise<void> {
    this.restoreConsole?.();
    await Promise.allSettled([this.tracerProvider.shutdown(), this.loggerProvider.shutdown()]);
  }
}

/** Local mode's exporter: one JSON object per record, in the shape the Application Insights records have. */
class JsonLinesFile implements SpanExporter, LogRecordExporter {
  constructor(private readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  export(items: ReadableSpan[] | ReadableLogRecord[], done: (result: ExportResult) => void): void {
    const lines = items.map((item) => JSON.stringify("kind" in item ? spanRecord(item) : logRecord(item)) + "\n");
    try {
      appendFileSync(this.file, lines.join(""));
      done({ code: ExportResultCode.SUCCESS });
    } catch (err) {
      done({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

function spanRecord(s: ReadableSpan): object {
  const { traceId, spanId } = s.spanContext();
  return {
    type: "request",
    time: new Date(hrTimeToMilliseconds(s.startTime)).toISOString(),
    name: s.name,
    operationId: traceId,
    id: spanId,
    parentId: s.parentSpanContext?.spanId,
    durationMs: hrTimeToMilliseconds(s.duration),
    responseCode: String(s.attributes["http.response.status_code"] ?? ""),
    success: s.status.code !== SpanStatusCode.ERROR,
    properties: { service: s.attributes.service, version: s.attributes.version, replica: s.attributes.replica, "x-ms-request-id": s.attributes["x-ms-request-id"] },
    links: s.links.map((l) => ({ operationId: l.context.traceId, id: l.context.spanId })),
  };
}

function logRecord(l: ReadableLogRecord): object {
  const isException = l.attributes["exception.type"] !== undefined;
  const common = {
    time: new Date(hrTimeToMilliseconds(l.hrTime)).toISOString(),
    operationId: l.spanContext?.traceId,
    parentId: l.spanContext?.spanId,
    properties: { service: l.attributes.service, phase: l.attributes.phase, ...(isException ? {} : { stream: l.attributes.stream }) },
  };
  return isException
    ? { type: "exception", ...common, typeName: l.attributes["exception.type"], message: l.attributes["exception.message"], stack: l.attributes["exception.stacktrace"] }
    : { type: "trace", ...common, message: l.body };
}
