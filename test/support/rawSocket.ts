/** Raw HTTP on 127.0.0.1, for answers a client library would hide or refuse to send. */
import * as assert from "node:assert/strict";
import * as net from "node:net";

/**
 * Everything a connection to `port` receives until it closes, as latin1 text, and whether the
 * server closed it. `onConnect` writes (and may pause or hang up); the connection is destroyed
 * after `waitMs` if the server keeps it.
 */
export function rawSession(port: number, onConnect: (socket: net.Socket) => void | Promise<void>, waitMs = 3_000): Promise<{ data: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => void onConnect(socket));
    let data = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, waitMs);
    socket.on("data", (d: Buffer) => (data += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ data, closedByServer: !timedOut });
    });
  });
}

/** What `rawSession` received. */
export const rawExchange = async (port: number, onConnect: (socket: net.Socket) => void | Promise<void>, waitMs = 3_000): Promise<string> => (await rawSession(port, onConnect, waitMs)).data;

/** `bytes` sent as they are, and what comes back until the server closes (or `waitMs` passes). */
export const rawRequest = (port: number, bytes: string, waitMs = 3_000): Promise<string> => rawExchange(port, (s) => void s.write(bytes), waitMs);

/** The first answer of a raw exchange: a JSON error, as the router writes its refusals. */
export interface ErrorAnswer {
  status: number;
  /** By lower-cased name. */
  headers: Record<string, string>;
  error: { code: string; message: string };
}

/** The first answer in `answer`, its body read by its Content-Length (Node may write another answer after it). */
export function firstErrorAnswer(answer: string): ErrorAnswer {
  const head = answer.indexOf("\r\n\r\n");
  assert.ok(head > 0, `no HTTP answer: ${JSON.stringify(answer)}`);
  const [statusLine, ...lines] = answer.slice(0, head).split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  const body = answer.slice(head + 4, head + 4 + Number(headers["content-length"]));
  return { status: Number(statusLine.split(" ")[1]), headers, error: (JSON.parse(body) as { error: ErrorAnswer["error"] }).error };
}
