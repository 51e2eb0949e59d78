// Lingering close (RFC 9112 §9.6). A request refused before its body was read (an upload too
// large, without a token, to a channel it may not write) is answered at once, with
// `Connection: close`. Node then closed the socket while the client was still sending, and the
// kernel answered the bytes that kept arriving with a reset, which can destroy the answer in
// the client's receive buffer before the client reads it: `pkgate upload` printed "EPIPE",
// twine a connection reset, instead of the reason. So such a connection is half-closed after
// its answer (the client reads the answer, then the end of the stream), the rest of the request
// is read and dropped by Node's parser, and the socket closes once the request has been received
// whole, or the client has closed its side, or after `lingerMs` (nginx's lingering_time). A
// connection whose request was read to its end closes at once.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How long a refused upload's connection may go on sending into the void. */
export const LINGER_MS = 30_000;

/** The request a socket is serving now (a keep-alive socket serves several in turn). */
const current = new WeakMap<Socket, IncomingMessage>();

const lingeringOn = new WeakSet<Socket>();

/** Half-closes `socket` and closes it once `req` has been received whole (Node's parser goes
 * on reading it and drops the body of an answered request), or cut short, or after `lingerMs`. */
function linger(socket: Socket, req: IncomingMessage, lingerMs: number, close: () => void): void {
  // asked again (the Hono adapter gives up draining a body with destroySoon too): one wait
  if (lingeringOn.has(socket)) return;
  lingeringOn.add(socket);
  let closed = false;
  const done = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    close();
  };
  const timer = setTimeout(done, lingerMs);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  // received whole, or cut short by the client
  req.once("end", done);
  req.once("error", done);
  req.once("aborted", done);
  socket.once("end", done);
  // the handler may have begun reading the body and stopped: nobody else reads it now
  req.resume();
  // the answer's bytes, then our end of the stream: the client need not wait for more
  socket.end();
}

/** The listener, with refused requests' connections closed by lingering. */
export function lingering(listener: RequestListener, lingerMs = LINGER_MS): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (!current.has(socket)) {
      // Node closes a connection whose answer says `Connection: close` with destroySoon()
      // (as does the Hono adapter when it gives up draining a body): linger instead while
      // the request being answered was not received whole
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => {
        const served = current.get(socket);
        if (served && !served.complete) linger(socket, served, lingerMs, destroySoon);
        else destroySoon();
      };
    }
    current.set(socket, req);
    listener(req, res);
  };
}
