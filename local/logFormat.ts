/**
 * How local mode's log reads on the terminal: human-readable lines (pino-pretty) when a person
 * watches it, pino's JSON when the output goes to a file, a pipe or a collector, or when asked
 * with `--log-format json`. Replica logs keep their JSON in the per-service log files (`logs`
 * reads them); on a readable terminal their lines are also shown, each prefixed with the replica.
 */
import pino, { type Logger } from "pino";
import PinoPretty, { prettyFactory, type PrettyOptions } from "pino-pretty";

export const LOG_FORMATS = ["pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Readable on a terminal, JSON everywhere else. */
export function defaultLogFormat(isTTY: boolean | undefined): LogFormat {
  return isTTY ? "pretty" : "json";
}

// One line per event, led by the service it is about; pid and hostname are the same on every
// line of one machine's local mode: noise on a terminal.
const PRETTY = {
  ignore: "pid,hostname,name,service",
  messageFormat: "{if service}{service}: {end}{msg}",
  singleLine: true,
  translateTime: "SYS:HH:MM:ss.l",
} satisfies PrettyOptions;

/** Local mode's own logger, on stderr. */
export function localLogger(name: string, level: string, format: LogFormat): Logger {
  // sync: a line logged just before exit (a failed start, Ctrl-C) is not lost in a buffer.
  return pino({ name, level }, format === "pretty" ? PinoPretty({ ...PRETTY, destination: 2, sync: true }) : pino.destination(2));
}

/** Every line of `text` (one or more, as pino-pretty prints an error) prefixed with `prefix | `. */
export function prefixLines(prefix: string, text: string): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => `${prefix} | ${line}\n`)
    .join("");
}

/**
 * What prints a replica's output line on the terminal in `format`, or undefined when replica
 * output stays in its log file only (JSON: the terminal then carries local mode's log alone,
 * one JSON document per line, which a collector must be able to parse).
 */
export function replicaLinePrinter(format: LogFormat, write: (text: string) => void): ((replica: string, line: string) => void) | undefined {
  if (format === "json") return undefined;
  // A JSON line from the scoring server is prettified; anything else (a Python print) as is.
  // The prefix names the replica, and so its service.
  const pretty = prettyFactory({ ...PRETTY, ignore: `${PRETTY.ignore},replica`, messageFormat: "{msg}" });
  return (replica, line) => {
    let text = line;
    if (line.startsWith("{")) {
      try {
        text = pretty(JSON.parse(line) as object);
      } catch {
        // not JSON after all: shown as written
      }
    }
    write(prefixLines(replica, text));
  };
}
