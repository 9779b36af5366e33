/** Raw HTTP on 127.0.0.1, for answers a client library would hide or refuse to send. */
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
