/** Raw HTTP on 127.0.0.1, for answers a client library would hide or refuse to send. */
import * as net from "node:net";

/**
 * Everything a connection to `port` receives until it closes, as latin1 text. `onConnect` writes
 * (and may pause or hang up); the connection is destroyed after `waitMs` if the server keeps it.
 */
export function rawExchange(port: number, onConnect: (socket: net.Socket) => void | Promise<void>, waitMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => void onConnect(socket));
    let data = "";
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on("data", (d: Buffer) => (data += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

/** `bytes` sent as they are, and what comes back until the server closes (or `waitMs` passes). */
export const rawRequest = (port: number, bytes: string, waitMs = 3_000): Promise<string> => rawExchange(port, (s) => void s.write(bytes), waitMs);
