import net from 'node:net';

export interface JsonAnswer {
  status: number;
  text: string;
}

/**
 * One keep-alive HTTP/1.1 connection for closed-loop JSON posts whose next body depends
 * on the last answer (a refresh chain): the request goes out as one string, and the
 * answer is read by its Content-Length. Just enough for this API's answers (it fails
 * on a chunked one), so that the load generator's own CPU stays small beside the
 * server's on a machine they share: node:http's client spent about 0.3 ms per refresh
 * here, a third of a whole raw refresh.
 */
export class JsonConnection {
  private pending?: { resolve(answer: JsonAnswer): void; reject(error: Error): void };
  private buffered: Buffer = Buffer.alloc(0);

  private constructor(
    private readonly socket: net.Socket,
    private readonly host: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  static open(url: string): Promise<JsonConnection> {
    const { hostname, port, host } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => {
        socket.off('error', reject);
        resolve(new JsonConnection(socket, host));
      });
      socket.once('error', reject);
    });
  }

  /** POSTs `json` to `path`; one request at a time. */
  post(path: string, json: string): Promise<JsonAnswer> {
    if (this.pending) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
      );
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) return this.fail(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
    const end = headEnd + 4 + Number(length);
    if (this.buffered.length < end) return;
    const answer = { status: Number(head.slice(9, 12)), text: this.buffered.toString('utf8', headEnd + 4, end) };
    this.buffered = this.buffered.subarray(end);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(answer);
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}
