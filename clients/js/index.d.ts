// Types of the immer-web client (index.js, follower.js, transform.js, undo.js).

/** A path as Immer writes it: a number is a list index, a string a key. */
export type PathSegment = string | number;
export type Path = PathSegment[];

/**
 * One segment of a path pattern: a literal (a key with that text, or a list index written in
 * decimal), `*` (`any`: any one segment) or, last, `**` (`rest`: everything from there on).
 */
export type PatternSegment = { kind: 'literal'; value: string } | { kind: 'any' } | { kind: 'rest' };

/** A path pattern as `parsePattern` reads it: its text and its segments (`~0`, `~1` unescaped). */
export interface PathPattern {
  text: string;
  segments: PatternSegment[];
}

/**
 * `P` when it is a path pattern that names something of a state of type `S`, else a message
 * saying what is wrong with it (so that `subscribePath('/tasks/*\/don', ...)` fails to
 * compile, naming `don`): each literal segment names a key of the object there (any key of a
 * `Record<string, _>`) or an index of a list, written in plain decimal without a leading zero
 * (`0`, `12`; not `01`, `-1`, `1.5` or `1e3`), `*` any one of them, `**` (last) anything
 * below. A pattern not known when compiling (a `string`), and any pattern of a state typed
 * `any`, pass as they are; the pattern is checked again when subscribing.
 */
export type CheckedPattern<S, P extends string> = 0 extends 1 & S
  ? P
  : string extends P
    ? P
    : P extends ''
      ? P
      : P extends `/${infer Rest}`
        ? PatternWalk<S, Rest, ''> extends true
          ? P
          : `bad path pattern: ${PatternWalk<S, Rest, ''> & string}`
        : "bad path pattern: it must start with '/'";

/** `~1` and `~0` of a pattern's segment as `/` and `~`. */
type PatternUnescape<K extends string> = K extends `${infer A}~1${infer B}`
  ? PatternUnescape<`${A}/${B}`>
  : K extends `${infer A}~0${infer B}`
    ? `${A}~${PatternUnescape<B>}`
    : K;

/** A decimal digit. */
type PatternDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';

/** `true` when `K` is made of decimal digits only (`''` included). */
type PatternDigits<K extends string> = K extends ''
  ? true
  : K extends `${PatternDigit}${infer Rest}`
    ? PatternDigits<Rest>
    : false;

/**
 * `true` when the literal segment `K` is a list index as a pattern names one: plain decimal
 * digits without a leading zero (`0` itself is one), not `01`, `-1`, `1.5` or `1e3`, which
 * name no index. A segment of type `${number}` (a number put into a template: which one is
 * not known when compiling) passes, as a pattern of type `string` does.
 */
type PatternIndex<K extends string> = `${number}` extends K
  ? true
  : K extends '0'
    ? true
    : K extends '' | `0${string}`
      ? false
      : PatternDigits<K>;

/** What the literal segment `K` names below a value of type `S` (`never`: nothing). */
type PatternChild<S, K extends string> = S extends readonly (infer E)[]
  ? PatternIndex<K> extends true
    ? E
    : never
  : S extends object
    ? K extends keyof S
      ? S[K]
      : string extends keyof S
        ? S[string & keyof S]
        : never
    : never;

/** What `*` names below a value of type `S`: any element or any field. */
type PatternChildren<S> = S extends readonly (infer E)[] ? E : S extends object ? S[keyof S] : never;

/** Where a pattern walk is, in words. */
type PatternPlace<Done extends string> = Done extends '' ? 'the root' : Done;

/** `true` when the segments `Rest` name something below `S` (reached by `Done`), else why not. */
type PatternWalk<S, Rest extends string, Done extends string> = Rest extends `${infer Head}/${infer Tail}`
  ? Head extends '**'
    ? "'**' may only be the last segment"
    : Head extends '*'
      ? [PatternChildren<S>] extends [never]
        ? `'*' names nothing below ${PatternPlace<Done>}`
        : PatternWalk<PatternChildren<S>, Tail, `${Done}/*`>
      : [PatternChild<S, PatternUnescape<Head>>] extends [never]
        ? PatternMiss<S, Head, Done>
        : PatternWalk<PatternChild<S, PatternUnescape<Head>>, Tail, `${Done}/${Head}`>
  : Rest extends '**'
    ? true
    : Rest extends '*'
      ? [PatternChildren<S>] extends [never]
        ? `'*' names nothing below ${PatternPlace<Done>}`
        : true
      : [PatternChild<S, PatternUnescape<Rest>>] extends [never]
        ? PatternMiss<S, Rest, Done>
        : true;

/** Why the literal segment `K` names nothing below `S` (reached by `Done`). */
type PatternMiss<S, K extends string, Done extends string> = [S] extends [readonly unknown[]]
  ? `\`${K}\` is not a list index at ${PatternPlace<Done>} (an index is written in plain decimal, without a leading zero: 0, 7, 12)`
  : `\`${K}\` names nothing at ${PatternPlace<Done>}`;

/** An Immer patch (JSON Patch, with array paths). */
export interface Patch {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: Path;
  value?: unknown;
  from?: Path;
}

/**
 * Why the server refused a change, as the Rust `immer::sync::RejectReason` serializes: an
 * object with one key, the variant's name (`{ Forbidden: { path } }`).
 */
export type RejectReason =
  /** Its base version is ahead of the server's. */
  | { BaseAhead: { base_version: number; leader_version: number } }
  /** Its base version is older than the server's log. */
  | { Compacted: { base_version: number; log_start: number } }
  /** A change committed since its base (`version`) removed or replaced what it edits. */
  | { Conflict: { version: number; conflict: Conflict } }
  /** It names a session the server does not know. */
  | { UnknownSession: { session: number } }
  /** The server's validation refused the state it would lead to. */
  | { Invalid: { message: string } }
  /** The role may not write this path (as it would be committed). */
  | { Forbidden: { path: Path } }
  /** It exceeds a limit (patches per change, path depth, ...). */
  | { Limit: { limit: string; max: number; got: number } }
  /** Its encoded form is larger than the transport carries. */
  | { TooLarge: { bytes: number; limit: number } }
  /** It has no patches. */
  | { Empty: Record<string, never> }
  /** Its patch `index`, moved to the server's version, does not apply there. */
  | { DoesNotApply: { index: number; path: Path; message: string } };

/**
 * Why an edit was dropped, as the Rust `immer::sync::DropReason` serializes (`sessionLost`
 * is the client's own).
 */
export type DropReason =
  /** The server refused it; `message` is the reason in words. */
  | { kind: 'rejected'; reason: RejectReason; message: string }
  /**
   * Another session's change, ordered before it, removed or replaced what it edits. Also the
   * reason of an edit that depends on the change in flight when that change left the local
   * state (it conflicts and waits for the server's answer, or was committed in another form).
   */
  | { kind: 'conflict'; conflict: Conflict }
  /**
   * It was made after the edit `id`, which was dropped, and depends on it: it writes a whole
   * value holding what that edit changed, or cannot be moved back through that edit's inverse.
   * `id` always names an edit reported dropped, never one accepted or still undecided.
   */
  | { kind: 'afterDropped'; id: number }
  /** A snapshot skipped over changes that nothing could move it through. */
  | { kind: 'snapshot' }
  /** The server no longer knew the session when the client reconnected (it restarted). */
  | { kind: 'sessionLost' }
  /**
   * Its patch `index` (at `path`) no longer applies to the local state; also the reason of the
   * edits after the change in flight when that change no longer applies here (it waits for the
   * server's answer).
   */
  | { kind: 'doesNotApply'; index: number; path: Path; message: string };

export interface Conflict {
  /** The index, in its list, of the patch that could not be moved. */
  index: number;
  /** The path it targets. */
  path: Path;
  /** The path of the patch that removed or replaced its target. */
  by: Path;
}

/** What happened to the follower's edits and version, as the Rust `immer::sync::FollowerEvent` serializes. */
export type FollowerEvent =
  | { type: 'applied'; version: number }
  | { type: 'accepted'; id: number; version: number }
  | { type: 'dropped'; id: number; reason: DropReason }
  | { type: 'diverged'; version: number; error: string };

/** What a client sends (the Rust `immer_web::protocol::ClientMessage`). */
export type ClientMessage =
  | { type: 'auth'; token: string; resume?: number }
  | { type: 'change'; id: number; base: number; patches: Patch[] }
  | { type: 'resync'; version: number }
  | { type: 'snapshot' }
  /** What this client shows the others; `null` shows nothing. */
  | { type: 'presence'; state: unknown };

/**
 * How a session's last answered change ended (the Rust `immer::sync::Answered`): committed as
 * a version, or refused with a reason and its words.
 */
export type Answered =
  | { id: number; committed: number }
  | { id: number; rejected: RejectReason; message: string };

/**
 * What the server sends (the Rust `immer_web::protocol::ServerMessage`): a welcome, and the
 * `immer::sync` messages `Committed`, `Rejected` and `Snapshot` tagged by `type`.
 */
export type ServerMessage =
  /** `role` as the server's role type serializes; `state` is `null` when a session was resumed. */
  | { type: 'welcome'; session: number; user: string; role: unknown; version: number; state: unknown; resumed: boolean }
  /**
   * A change committed as `version` in `session`, as the server's log holds it; `client` is 0,
   * and `author` is the user the server authenticated (absent where no one was).
   */
  | { type: 'committed'; version: number; client: number; session: number; id: number; patches: Patch[]; author?: string }
  /** This session's change `id` was refused; `message` is the reason in words. */
  | { type: 'rejected'; session: number; id: number; reason: RejectReason; message: string }
  /** The whole state, with how the session's last answered change ended. */
  | { type: 'snapshot'; version: number; state: unknown; answered: Answered | null }
  /** What changed of the others' presences (a `null` state: gone); the first after a welcome holds them all. */
  | { type: 'presence'; presences: Presence[] }
  /** This client's presence was not taken (too large, too deep), and why. */
  | { type: 'presenceRefused'; reason: string };

/**
 * One connection's presence, as the server sends it (the Rust `immer_web::protocol::Presence`):
 * `client` numbers the connection (two tabs of a user are two), `user` is the user the server
 * authenticated, `state` what it shows (`null` in a message: it went).
 */
export interface Presence {
  client: number;
  user: string;
  state: unknown;
}

export interface ConnectOptions {
  /** The token the server's authentication hook verifies. */
  token: string;
  /** A WebSocket constructor: the browser's by default; in Node 20, the `ws` package's. */
  WebSocket?: unknown;
  /** How many waiting edits go out as one change (16 by default). */
  batch?: number;
  /** Whether to reconnect (and resume the session) after the connection drops (true by default). */
  reconnect?: boolean;
  /** The shortest time between two presence messages of a document, in ms (50: at most 20 a second). */
  presenceInterval?: number;
  /** How often this client's presence is sent again so that the server keeps it, in ms (10,000; the server's default timeout is 30 s). */
  presenceKeepAlive?: number;
  /**
   * Keeps the document (its state, session and unanswered edits) in `storage` so that a
   * reloaded page shows it at once and sends its edits when it reconnects (`connect` only; for
   * `connectMany`, give it to each `open`). `key` is the url by default.
   */
  persist?: PersistOptions;
}

/**
 * Where a document is kept between page loads (`indexedDBStorage`, `memoryStorage`, or your
 * own): each method may be async. `load` gives `undefined` for a key never saved.
 */
export interface DocumentStorage {
  load(key: string): Promise<unknown> | unknown;
  save(key: string, value: unknown): Promise<void> | void;
  remove(key: string): Promise<void> | void;
}

/** Persistence of one document: the storage, and its key there. */
export interface PersistOptions {
  storage: DocumentStorage;
  /** The document's key in `storage` (the document's name for `open`, the url for `connect`). */
  key?: string;
}

/** What `open` takes besides the document's name. */
export interface OpenOptions {
  /** Keeps the document in a storage (see `ConnectOptions.persist`); `key` is its name by default. */
  persist?: PersistOptions;
}

/** One edit waiting for the server in a saved follower: edits merged into one change hold `first..id`. */
export interface SavedEdit {
  first: number;
  id: number;
  patches: Patch[];
}

/** The change in flight of a saved follower; `applied`: whether its edit is in the local state. */
export interface SavedChange {
  first: number;
  change: { type: 'change'; id: number; base: number; patches: Patch[] };
  applied: boolean;
}

/** A follower's durable part, as `Follower.save` gives it (plain JSON). */
export interface SavedFollower {
  /** `SAVED_FORMAT` (1). */
  format: number;
  session: number;
  version: number;
  /** The state at `version`, as the server has it. */
  confirmed: unknown;
  /** `confirmed` with the pending edits applied (absent when they are none). */
  local?: unknown;
  pending: SavedEdit[];
  inFlight: SavedChange | null;
  /**
   * Committed changes that arrived ahead of the next version (with `type: 'committed'` as
   * this client writes them, without it as the Rust crate does: nothing reads it back).
   */
  early: Omit<Extract<ServerMessage, { type: 'committed' }>, 'type'>[];
  /** The next edit's id: an id the server may have seen is never given again. */
  nextId: number;
  diverged: boolean;
  /** Events not yet taken. */
  events: FollowerEvent[];
  batch: number;
}

/** What a store keeps in its storage: the follower, and the user and role it was welcomed as. */
export interface SavedDocument {
  follower: SavedFollower;
  user: string | null;
  role: unknown;
}

export interface StoreEvents {
  /** The saved document was loaded from its storage (before the socket opens). */
  restored: { version: number; pending: number };
  open: { session: number; resumed: boolean };
  close: { code: number; reason: string };
  welcome: Extract<ServerMessage, { type: 'welcome' }>;
  applied: Extract<FollowerEvent, { type: 'applied' }>;
  accepted: Extract<FollowerEvent, { type: 'accepted' }>;
  dropped: Extract<FollowerEvent, { type: 'dropped' }>;
  diverged: Extract<FollowerEvent, { type: 'diverged' }>;
  error: { message: string };
  /** An edit made here (the hook an `UndoManager` records edits with). */
  edit: { id: number; patches: Patch[] };
  /** The server's messages, before the follower takes them (the hook an `UndoManager` reads committed changes with). */
  received: { messages: ServerMessage[] };
  /** The server did not take this client's presence (too large, too deep), and why. */
  presenceRefused: { reason: string };
}

/** A `DocumentHandle`'s events: a `Store`'s, and `unsubscribed` once it has stopped. */
export interface DocumentHandleEvents extends StoreEvents {
  /** Closed by this client (`reason` is `'unsubscribed'`) or by the server, with its words. */
  unsubscribed: { reason: string };
}

/** A `Connection`'s events. */
export interface ConnectionEvents {
  /** The socket is open and the token sent (a refused token closes it with 4401). */
  open: Record<string, never>;
  /** The socket closed; it reconnects unless refused for good or disconnected. */
  close: { code: number; reason: string };
  error: { message: string };
}

/**
 * What a client sends over a multi-document connection (`connectMany`): one `auth` first, then
 * a `subscribe` and `unsubscribe` per document, and each document's messages (those of
 * `ClientMessage`) with the document's name as `doc`.
 */
export type MultiDocumentClientMessage =
  | { type: 'auth'; token: string }
  /** `resume`: the document's session before a reconnect. */
  | { type: 'subscribe'; doc: string; resume?: number }
  | { type: 'unsubscribe'; doc: string }
  | { type: 'change'; doc: string; id: number; base: number; patches: Patch[] }
  | { type: 'resync'; doc: string; version: number }
  | { type: 'snapshot'; doc: string }
  | { type: 'presence'; doc: string; state: unknown };

/**
 * What a server sends over a multi-document connection: each document's messages (those of
 * `ServerMessage`) with its name as `doc`, and `unsubscribed` when a document stops (refused at
 * `subscribe`, answered to `unsubscribe` with the reason `'unsubscribed'`, or the server's own
 * doing, such as a deleted document).
 */
export type MultiDocumentServerMessage =
  | { doc: string; type: 'welcome'; session: number; user: string; role: unknown; version: number; state: unknown; resumed: boolean }
  | { doc: string; type: 'committed'; version: number; client: number; session: number; id: number; patches: Patch[]; author?: string }
  | { doc: string; type: 'rejected'; session: number; id: number; reason: RejectReason; message: string }
  | { doc: string; type: 'snapshot'; version: number; state: unknown; answered: Answered | null }
  | { doc: string; type: 'unsubscribed'; reason: string }
  | { doc: string; type: 'presence'; presences: Presence[] }
  | { doc: string; type: 'presenceRefused'; reason: string };

/**
 * A shared document as this client sees it: what `Store` and `DocumentHandle` have in common
 * (`E`: the events it emits).
 */
export declare class SharedDocument<S = any, E = StoreEvents> {
  /** The user and role the server's authentication hook gave this connection. */
  readonly user: string | null;
  /** As the server's role type serializes (a string for an enum of unit variants). */
  readonly role: unknown;
  /** The last version confirmed by the server. */
  readonly version: number;
  /** How many of this client's edits wait for the server's answer. */
  readonly pendingCount: number;
  /** Whether every edit has been answered and nothing waits to be applied. */
  readonly isSettled: boolean;
  /** Whether it started from what its storage kept (`persist`), before the server answered. */
  readonly restored: boolean;
  /** Where the document is kept between page loads (`persist`, with its key), or `null`. */
  readonly persist: Required<PersistOptions> | null;
  /**
   * The state as this client sees it: the server's, with its own pending edits applied.
   *
   * A document has a state once `connect()` or `connection.open()` has resolved (the server's
   * welcome, or what its storage kept), and keeps one from then on. Before that it has none and
   * this is `undefined`, which the type does not say: only a handle taken from
   * `connection.document(name)` before its `open` resolved can be asked that early.
   */
  getState(): S;
  /** Edits with an Immer recipe: applied at once, sent as a change. */
  update(recipe: (draft: import('immer').Draft<S>) => void | S): number | undefined;
  /** Edits with patches made against the state (an undo's): as `update`; throws when one does not apply. */
  updatePatches(patches: readonly Patch[]): number | undefined;
  /** Calls the listener whenever the state changes; returns an unsubscribe function. */
  subscribe(listener: (state: S) => void): () => void;
  /**
   * Calls the listener only when a change of the state touches `pattern` (a JSON Pointer with
   * `*` for any one segment and, last, `**`; `""` the whole state; see `touches`), with the
   * change's patches that touch it and the state after it; returns an unsubscribe function.
   * Throws a `SyntaxError` on a bad pattern; a pattern written in the code that names nothing
   * of `S` does not compile (see `CheckedPattern`).
   */
  subscribePath<P extends string>(pattern: CheckedPattern<S, P>, listener: (patches: Patch[], state: S) => void): () => void;
  /** Listens for connection and edit events; returns a function that stops listening. */
  on<K extends keyof E>(type: K, handler: (event: E[K]) => void): () => void;
  /** Resolves once every edit has been answered. */
  settled(timeoutMs?: number): Promise<void>;
  /** Resolves once what the document's storage should hold is written (at once without `persist`). */
  saved(): Promise<void>;
  /**
   * Shows the others `state` (a JSON value; `null` shows nothing): sent at most every
   * `presenceInterval`, the newest wins, kept alive and shown again after a reconnect.
   */
  setPresence(state: unknown): void;
  /** The others' presences shown now (never this client's own), in order of `client`. */
  presence(): Presence[];
  /** Calls the listener whenever the others' presences change; returns an unsubscribe function. */
  subscribePresence(listener: (presences: Presence[]) => void): () => void;
}

/** A shared document over its own WebSocket (see `connect`). */
export declare class Store<S = any> extends SharedDocument<S, StoreEvents> {
  /** 'connecting', 'open' or 'closed'. */
  readonly status: 'connecting' | 'open' | 'closed';
  /** Closes the connection for good. */
  close(): void;
}

/** Connects, and resolves once the server has welcomed this client. */
export declare function connect<S = any>(url: string, options: ConnectOptions): Promise<Store<S>>;

/**
 * One document of a `Connection`: a `Store` whose messages travel over the connection's
 * socket. Once unsubscribed (by `close`, or by the server) it takes no more edits (`update`
 * throws), and its edits the server had not answered are reported `dropped` (`sessionLost`).
 */
export declare class DocumentHandle<S = any> extends SharedDocument<S, DocumentHandleEvents> {
  /** The document's name on the server. */
  readonly name: string;
  /** 'connecting', 'open', 'closed' (the socket dropped, or the document was closed) or 'unsubscribed'. */
  readonly status: 'connecting' | 'open' | 'closed' | 'unsubscribed';
  /** Why it stopped, once unsubscribed; `null` before. */
  readonly reason: string | null;
  /** Unsubscribes from the document; the connection stays. */
  close(): void;
}

/** One WebSocket carrying many documents (see `connectMany`). */
export declare class Connection {
  /** 'connecting', 'open' or 'closed'. */
  readonly status: 'connecting' | 'open' | 'closed';
  /**
   * Subscribes to the document `name` and resolves once the server has welcomed it; rejects
   * with the server's reason when it refuses. A document already open is the same handle.
   */
  open<S = any>(name: string, options?: OpenOptions): Promise<DocumentHandle<S>>;
  /** Unsubscribes from the document `name`; the socket stays. */
  close(name: string): void;
  /** The names of the documents open, in the order they were opened. */
  documents(): string[];
  /**
   * The open document `name`, welcomed or not yet. One not yet welcomed (its `open` has not
   * resolved) has no state: its `getState()` is `undefined` and `update` throws until then.
   */
  document<S = any>(name: string): DocumentHandle<S> | undefined;
  /** Closes the socket for good; the documents stop. */
  disconnect(): void;
  /** Listens for the connection's events; returns a function that stops listening. */
  on<K extends keyof ConnectionEvents>(type: K, handler: (event: ConnectionEvents[K]) => void): () => void;
}

/**
 * Opens one WebSocket to a server's multi-document endpoint; each document is opened with
 * `connection.open(name)`.
 */
export declare function connectMany(url: string, options: ConnectOptions): Connection;

/** The follower's bookkeeping without I/O (a port of the Rust `Follower`). */
export declare class Follower<S = any> {
  constructor(start: { session: number; version: number; state: S }, options?: { batch?: number });
  readonly session: number;
  readonly version: number;
  readonly confirmed: S;
  readonly state: S;
  readonly pendingCount: number;
  readonly isSettled: boolean;
  edit(recipe: (draft: import('immer').Draft<S>) => void | S): number | undefined;
  /** Edits with patches made against the current state, as `edit` does with its recipe's. */
  editPatches(patches: readonly Patch[]): number | undefined;
  poll(): ClientMessage[];
  nextChange(): ClientMessage | undefined;
  /** Handles one message from the server. */
  receive(message: ServerMessage): void;
  /**
   * Handles messages from the server in order, as `receive` would one by one, with a run of
   * committed changes applied together: the pending edits move through the whole run at once
   * and the local state is brought along once (a follower far behind catches up in one step).
   */
  receiveAll(messages: Iterable<ServerMessage>): void;
  takeEvents(): FollowerEvent[];
  /** The durable part, as plain JSON: what a restored follower goes on from exactly. */
  save(): SavedFollower;
  /** A follower from what `save` gave; it sends, applies and reports what the saved one would have. */
  static restore<S = any>(saved: SavedFollower, options?: { batch?: number }): Follower<S>;
}

/** The format `Follower.save` writes. */
export declare const SAVED_FORMAT: number;

/** A `DocumentStorage` in IndexedDB (the browser): one object store in the database `name`. */
export declare function indexedDBStorage(name?: string): DocumentStorage;

/**
 * Holds the Web Lock `name` for the page's life, so one tab at a time keeps a document in one
 * storage record: `true` once held, `false` if another page still holds it after `timeout` ms
 * (3000 by default) or there are no Web Locks. Never rejects.
 */
export declare function tabLock(name: string, options?: { timeout?: number; locks?: TabLocks }): Promise<boolean>;

/** What `tabLock` asks of a lock manager: the part of the browser's `navigator.locks` it uses. */
export interface TabLocks {
  request(name: string, options: object, callback: () => unknown): Promise<unknown>;
}

/** A `DocumentStorage` in memory, copying what it keeps (Node, tests). */
export declare function memoryStorage(): DocumentStorage & { readonly entries: Map<string, unknown> };

/**
 * Applies patches as the Rust crate applies them to a JSON value (a patch whose target is not
 * there throws, naming its index, path and why) and returns the next state with the exact
 * inverse, the patches that take it back.
 */
export declare function applyWithInverse<S>(base: S, patches: readonly Patch[]): [S, Patch[]];

/** Moves `mine` through `theirs` (both made against one state, `theirs` ordered first). */
export declare function transform(
  mine: readonly Patch[],
  theirs: readonly Patch[],
): { ok: true; mine: Patch[]; theirs: Patch[] } | { ok: false; conflict: Conflict };

/**
 * The patches that revert an older change (its `inverse`), moved through every change made
 * after it (`later`, oldest first) so that they apply after the last: the rule of the Rust
 * `immer::revert_through` (selective undo). A later write of the same value stands; a later
 * change that removed or replaced what the older one changed is a conflict, named by its index.
 */
export declare function revertThrough(
  inverse: readonly Patch[],
  later: Iterable<readonly Patch[]>,
): { ok: true; revert: Patch[] } | { ok: false; index: number; conflict: Conflict };

/** Structural equality of two JSON values. */
export declare function deepEqual(a: unknown, b: unknown): boolean;

/**
 * Reads a path pattern (the `Policy` syntax: a JSON Pointer whose segments may be `*` or, last,
 * `**`; `""` the whole state); throws a `SyntaxError` that names what is wrong.
 */
export declare function parsePattern(text: string): Readonly<PathPattern>;

/**
 * Whether `patch` touches `pattern`: it writes at, inside or above something the pattern
 * names, or (an `add` or `remove` in a list) shifts an element the pattern names by index; a
 * `move` as a `remove` at `from` and an `add` at `path`, a `copy` as an `add`.
 */
export declare function touches(pattern: string | Readonly<PathPattern>, patch: Patch): boolean;

/**
 * Why an undo or redo skipped a step, as the Rust `immer::sync::SkipReason` serializes.
 */
export type SkipReason =
  /**
   * A later change removed or replaced what the step changed, or another user wrote inside what
   * its revert would remove or replace; `version` and `author` name that change once committed
   * (`author` as the server authenticated them; both `null` for an own edit that waits).
   */
  | { kind: 'conflict'; conflict: Conflict; version: number | null; author: string | null }
  /** Every value it changed was written again since (the later write stands), or none of its edits is in the state. */
  | { kind: 'nothingLeft' }
  /** Its edits were committed in one change with another step's, in a form that cannot be split. */
  | { kind: 'inseparable' }
  /** Its revert does not apply to the state. */
  | { kind: 'doesNotApply'; index: number; path: Path; message: string };

/** A step taken off the stack without being reverted, and why. */
export interface Skipped {
  metadata: unknown;
  reason: SkipReason;
}

/** What `UndoManager.undo` and `redo` answer (the Rust `Result<Undone, UndoError>`). */
export type UndoOutcome =
  /** Reverted by the edit `edit` (sent like any other); the newer steps skipped on the way. */
  | { ok: true; edit: number; metadata: unknown; skipped: Skipped[] }
  /** Nothing reverted: the stack was empty, or every step on it was skipped. */
  | { ok: false; skipped: Skipped[] };

/** An undo or redo edit the server refused: its step went back onto the stack it came from. */
export interface Refused {
  edit: number;
  action: 'undo' | 'redo';
  reason: DropReason;
  metadata: unknown;
}

/**
 * Undo and redo of this user's own edits of a document, each moved through what was
 * committed since, never touching another user's edit (`immer-rs-client/undo`; the Rust
 * `immer::sync::UndoManager`).
 */
export declare class UndoManager<S = any> {
  /**
   * `window`: edits within this many ms of the one before join its step (500); `clock`: the
   * time in ms (`Date.now`); `limit`: the most steps the undo stack keeps (100).
   */
  constructor(doc: SharedDocument<S, any>, options?: { window?: number; clock?: () => number; limit?: number });
  /** How many steps `undo` may revert (some may be skipped). */
  readonly undoLength: number;
  /** How many steps `redo` may revert (some may be skipped). */
  readonly redoLength: number;
  /** `doc.update`, with metadata for the step it begins. */
  update(recipe: (draft: import('immer').Draft<S>) => void | S, options?: { metadata?: unknown }): number | undefined;
  /** `doc.updatePatches`, with metadata for the step it begins. */
  updatePatches(patches: readonly Patch[], options?: { metadata?: unknown }): number | undefined;
  /** Ends the step being made. */
  endStep(): void;
  /** Reverts the newest step that can be. */
  undo(): UndoOutcome;
  /** Reverts the newest undo that can be. */
  redo(): UndoOutcome;
  /** The undo and redo edits refused since the last call. */
  takeRefused(): Refused[];
  /** Listens for refused undos and redos; returns a function that stops listening. */
  on(type: 'refused', handler: (event: Refused) => void): () => void;
  /** Stops following the document. */
  detach(): void;
}
