/**
 * Keeps V8's optimized code for the hot path alive across quiet periods.
 *
 * V8 compiles hot functions against the layouts ("maps") of the objects they see, and when a
 * full garbage collection finds no live object with such a map, the map dies and every
 * optimized function that embedded it is thrown away ("deoptimizing ... reason: weak
 * objects" in --trace-deopt). A transfer's objects — data sockets, passive listeners, file
 * streams, fs.Stats — all die between bursts of traffic, which is exactly
 * when the idle collection (core/idle-memory.ts) runs. Measured with the small-files loop
 * after 8 s of quiet: ~110 optimized functions thrown away, ~150 recompiled when traffic
 * came back (0.5-1 s of compiler CPU), and 250-300 instead of ~150 us of server CPU per
 * operation until they were.
 *
 * Keeping the last retired object of each such kind (a few KB in all) keeps its map, so the
 * code compiled for it survives. Objects are kept only once they are finished with (closed,
 * destroyed): nothing here is used again.
 *
 * Cheaper still is an object whose map cannot die: a plain object literal with every field
 * written out keeps its map through the literal's boilerplate. A literal built with spread
 * (`{ ...a, ...(x ? { b } : {}) }`) or grown later (`state.connected = true`) gets maps that
 * only inline caches hold, weakly. So the per-command and per-transfer objects (the looked-up
 * command, the transfer plan and state, an FdTransfer) list every field from the start,
 * undefined where unused. Measured with the small-files loop after 8 s of quiet: our own
 * functions left the "weak objects" deoptimizations (store, retrieve, runQueued, execute,
 * sendToFd ...; what remained was Node's own: nextTick, fs.open, stream internals, see
 * keepNodeShapesThrough in cli/v8-memory.ts), and in interleaved runs server CPU per
 * operation went 0.128 -> 0.120 ms.
 */
/** Data sockets per direction: a download's and an upload's socket end up with different maps. */
export type ShapeKind =
  | `dataSocket:${'download' | 'upload' | 'listing'}`
  | 'passiveListener'
  | 'passiveEndpoint'
  /** The native data path's endpoint and a transfer on a bare descriptor (src/ftp/data/native-endpoint.ts). */
  | 'nativePassiveEndpoint'
  | 'fdTransfer'
  | 'fileSource'
  | 'fileWriter'
  | 'stats'
  /** A session and its socket: after a burst of logins ~30 optimized functions (framing, replies, the command loop) depend on their maps. */
  | `session:${'plain' | 'implicit-tls'}`;

const retired = new Map<ShapeKind, object>();

/** Keeps `retiredObject` (finished with) as the live example of its kind, replacing the previous one. */
export function keepShape(kind: ShapeKind, retiredObject: object): void {
  retired.set(kind, retiredObject);
}
