// A multi-document server for the tests of `connectMany`, in Node: one WebSocket carries any
// number of documents, each ordered by its own JS `Leader` (test/leader.js), speaking the
// protocol index.js describes (auth once, then subscribe, unsubscribe and each document's
// messages with a `doc`). Every message either way is checked against the types of index.d.ts
// and kept, so that a test can say what went where. Faults on demand: changes held unanswered,
// a document unsubscribed by the server, sockets killed.
import { WebSocketServer } from 'ws';
import { Leader, wire } from './leader.js';
import { mismatch, readTypes } from './types.js';

const types = readTypes(new URL('../index.d.ts', import.meta.url));

/** The users the server knows, by token. */
const USERS = new Map([
  ['ann', { user: 'ann', role: 'editor' }],
  ['bob', { user: 'bob', role: 'editor' }],
]);

/**
 * Starts a server on a free loopback port with a document (and its leader) for each entry of
 * `documents` (name → initial state).
 *
 * @param {Record<string, any>} documents
 */
export async function startManyServer(documents) {
  const server = new ManyServer(documents);
  await server.listening;
  return server;
}

class ManyServer {
  constructor(documents) {
    /** @type {Map<string, Leader>} */
    this.leaders = new Map(Object.entries(documents).map(([name, state]) => [name, new Leader(structuredClone(state))]));
    /** Each socket's connection: `{ id, socket, user, subscriptions: Map<name, session> }`. */
    this.connections = new Set();
    this.nextConnection = 1;
    /** Every message, as `{ to | from: connection id, message }`, in order. */
    this.sent = [];
    this.received = [];
    /** Messages whose shape is not the one index.d.ts declares. */
    this.shapeErrors = [];
    /** Documents whose changes are held unanswered (by name), with the changes held. */
    this.held = new Map();
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.listening = new Promise((resolve) => this.wss.once('listening', resolve));
    this.wss.on('connection', (socket) => this.accept(socket));
  }

  get url() {
    return `ws://127.0.0.1:${this.wss.address().port}/ws/many`;
  }

  accept(socket) {
    const connection = { id: this.nextConnection++, socket, user: null, role: null, subscriptions: new Map() };
    this.connections.add(connection);
    socket.on('message', (data) => this.receive(connection, JSON.parse(String(data))));
    socket.on('close', () => this.connections.delete(connection));
  }

  send(connection, message) {
    const why = mismatch(types, message, 'MultiDocumentServerMessage');
    if (why !== null) this.shapeErrors.push(`sent ${JSON.stringify(message)}: ${why}`);
    this.sent.push({ to: connection.id, message });
    if (connection.socket.readyState === 1) connection.socket.send(JSON.stringify(message));
  }

  receive(connection, message) {
    if (connection.socket.readyState !== 1) return;
    const why = mismatch(types, message, 'MultiDocumentClientMessage');
    if (why !== null) this.shapeErrors.push(`received ${JSON.stringify(message)}: ${why}`);
    this.received.push({ from: connection.id, message });
    if (connection.user === null) {
      const known = message.type === 'auth' ? USERS.get(message.token) : undefined;
      if (known === undefined) {
        connection.socket.close(4401, message.type === 'auth' ? 'unauthorized: unknown token' : 'unauthorized: auth first');
        return;
      }
      Object.assign(connection, known);
      return;
    }
    const { doc: name, ...inner } = message;
    const leader = this.leaders.get(name);
    switch (message.type) {
      case 'subscribe': {
        if (leader === undefined) {
          this.send(connection, { doc: name, type: 'unsubscribed', reason: 'not found' });
          return;
        }
        // A session this document knows, and no other socket holds, is resumed.
        const held = [...this.connections].some((c) => c !== connection && c.subscriptions.get(name) === message.resume);
        const resumed = typeof message.resume === 'number' && message.resume < leader.nextSession && !held;
        const start = resumed ? { session: message.resume, version: leader.version, state: null } : leader.join();
        connection.subscriptions.set(name, start.session);
        this.send(connection, { doc: name, type: 'welcome', ...start, user: connection.user, role: connection.role, resumed });
        return;
      }
      case 'unsubscribe':
        if (connection.subscriptions.delete(name)) this.send(connection, { doc: name, type: 'unsubscribed', reason: 'unsubscribed' });
        return;
      default: {
        const session = connection.subscriptions.get(name);
        if (session === undefined) return;
        if (message.type === 'change' && this.held.has(name)) {
          this.held.get(name).push({ connection, message: inner });
          return;
        }
        this.deliver(name, leader.receive(session, inner));
      }
    }
  }

  /** Sends a leader's answers to those subscribed to its document. */
  deliver(name, outs) {
    for (const { to, message } of outs) {
      for (const connection of this.connections) {
        const session = connection.subscriptions.get(name);
        if (session !== undefined && (to === 'all' || to === session)) this.send(connection, { doc: name, ...wire(message) });
      }
    }
  }

  /** Holds the changes to document `name` unanswered until `release(name)`. */
  hold(name) {
    this.held.set(name, []);
  }

  /** Answers the changes held for `name`, in the order they came. */
  release(name) {
    const held = this.held.get(name) ?? [];
    this.held.delete(name);
    for (const { connection, message } of held) {
      const session = connection.subscriptions.get(name);
      if (session !== undefined) this.deliver(name, this.leaders.get(name).receive(session, message));
    }
  }

  /** Unsubscribes every socket from document `name` on the server's own account. */
  unsubscribe(name, reason) {
    this.held.delete(name);
    for (const connection of this.connections) {
      if (connection.subscriptions.delete(name)) this.send(connection, { doc: name, type: 'unsubscribed', reason });
    }
  }

  /** Kills the sockets of `user` (no close frame), as a dropped network would. */
  kill(user) {
    for (const connection of this.connections) if (connection.user === user) connection.socket.terminate();
  }

  /** The connections open now, by user. */
  socketsOf(user) {
    return [...this.connections].filter((c) => c.user === user).length;
  }

  /** The messages sent to the connections of `user`. */
  sentTo(user, ids = this.idsOf(user)) {
    return this.sent.filter((s) => ids.has(s.to)).map((s) => s.message);
  }

  idsOf(user) {
    return new Set(this.received.filter((r) => r.message.type === 'auth' && r.message.token === user).map((r) => r.from));
  }

  async close() {
    for (const connection of this.connections) connection.socket.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}
