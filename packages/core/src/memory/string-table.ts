/**
 * Hash tables keyed by strings, for the memory store's tables that grow to millions of keys and
 * are looked up for every event: a tenant's event ids and its timelines by person.
 *
 * Why not `Set` and `Map`: on a table of a million keys every lookup is a cache miss, and V8's
 * tables take several per lookup of a new key (the bucket, each entry of its chain, and each
 * entry's key string, read to compare hashes). Here a slot's hash sits in an `Int32Array`
 * beside the key: a lookup reads the hash array, usually one cache line (linear probing), and
 * reads a key only when its full 32-bit hash matches. The `Set` of event ids was the most costly
 * single line of the pipeline (~8% of its CPU samples; 600k tour events, line-level profile).
 *
 * The hash is FNV-1a over the UTF-16 code units followed by MurmurHash3's 32-bit finaliser
 * (both public-domain constructions), started from a random seed per process, so that ids chosen
 * to collide on one process's tables do not collide on another's (V8 seeds its own string hash
 * too). It is not a keyed cryptographic hash: it makes flooding harder, not impossible. The
 * hash is computed on every call (V8 caches a string's); the engine accepts ids of at most 256
 * characters.
 *
 * Tables keep at most three quarters of their slots filled (live keys and tombstones) and are
 * rebuilt when they reach it: twice the slots, or as many or fewer when deleted keys were much
 * of what filled it. A miss probes ~8.5 slots on average at that load (Knuth's estimate for
 * linear probing), most of them within the cache line of hashes a lookup reads anyway (16 per
 * line). A probe never runs past the table's capacity: a table with no empty slot left would be
 * a bug, reported as an error rather than a loop that never ends.
 *
 * Size: callers keep a table at or below {@link MAX_KEYS} keys (~25M), so that it never needs more
 * than 2²⁶ slots (the memory store refuses a batch that could pass it with `STORE_FULL`). A resize
 * past 2²⁶ slots is refused with an error as a last guard, because V8 cannot make the slot array:
 * growing a plain array towards 2²⁷ elements ends the process ("Fatal JavaScript invalid size
 * error" at ~113M elements, Node 20, checked), which no `catch` can handle. Without the limit a
 * table would have needed 2²⁷ slots at its 50,331,649th key, or sooner, at any resize with more
 * than MAX_KEYS live keys once deletions left tombstones.
 *
 * Memory: a `StringSet` slot is 12 bytes (hash and key reference), ~21 bytes per key at the
 * average load; a `StringMap` slot adds its value's reference (20 bytes). The hashes live in
 * typed arrays, whose contents V8 keeps outside its heap (but for the smallest):
 * `process.memoryUsage()` counts them in `arrayBuffers`, not `heapUsed`. During a rebuild the
 * old and new arrays exist together.
 * @module
 */

/** A slot never used: a probe for a key stops here. */
const EMPTY = 0;
/** A slot whose key was deleted: a probe goes past it. Live slots hold odd values, so they never equal it. */
const DELETED = 2;
const FIRST_CAPACITY = 16;
/** The most slots a table has: its key and value arrays stay plain arrays of at most 2²⁶ elements (see the module comment). */
const MAX_CAPACITY = 1 << 26;
/**
 * The most keys a table holds: a resize makes a table at most 3/8 full, so with at most this many
 * keys it never needs more than {@link MAX_CAPACITY} slots, however many tombstones it has.
 */
export const MAX_KEYS = (3 * MAX_CAPACITY) / 8;

/** Unpredictable per process (`Math.random`'s state can be recovered from a few of its outputs). */
const SEED = (globalThis.crypto.getRandomValues(new Int32Array(1))[0] as number) | 0;

/** The 32-bit hash of `key`, made odd (a live slot's mark; see {@link DELETED}). */
export function hashString(key: string): number {
  // Lookups answer "absent" for a key that is not a string; additions are checked by their callers
  // (the store rejects an event id that is not a string). This is the last guard: every number
  // would hash alike, and `undefined` has no length.
  if (typeof key !== 'string') throw new TypeError(`[leadpipe] [memory-store] internal: a table key must be a string, got ${typeof key}`);
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 1;
}

/** The slots of a table: hashes and keys side by side, with the probing both tables share. */
class Slots {
  /** Per slot: {@link EMPTY}, {@link DELETED} or the odd hash of its key. */
  protected hashes = new Int32Array(FIRST_CAPACITY);
  protected slotKeys: Array<string | undefined> = emptySlots(FIRST_CAPACITY);
  protected mask = FIRST_CAPACITY - 1;
  #size = 0;
  /** Slots that are not empty: live keys and tombstones. */
  #filled = 0;

  /** @param maxCapacity The most slots the table may grow to, a power of two of at least 16 (tests pass a small one to reach the limit). */
  constructor(private readonly maxCapacity = MAX_CAPACITY) {}

  get size(): number {
    return this.#size;
  }

  /** The slot holding `key`, or -1. */
  protected find(key: string, hash: number): number {
    const { hashes, mask } = this;
    // The start slot comes from the hash's bits 1 and up: bit 0 is always 1.
    for (let i = (hash >>> 1) & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
      const h = hashes[i] as number;
      if (h === EMPTY) return -1;
      if (h === hash && this.slotKeys[i] === key) return i;
    }
    return full();
  }

  /**
   * The slot holding `key` (≥ 0), or where to put it, as `-1 - slot` (the first tombstone on its
   * probe path, else the empty slot that ended it). Makes room first when the key is absent, so
   * the slot stays valid for one {@link Slots.fill}.
   */
  protected findForInsert(key: string, hash: number): number {
    if (4 * (this.#filled + 1) > 3 * this.hashes.length) {
      // A key already here needs no room: found before the table grows (or, past its limit, refuses
      // to; the store keeps tables at or below MAX_KEYS, where a resize always fits, so only a table
      // used beyond that contract could refuse).
      const found = this.find(key, hash);
      if (found >= 0) return found;
      this.#resize();
    }
    const { hashes, mask } = this;
    let free = -1;
    // The whole probe path is walked before a tombstone is taken: the key may sit past it.
    for (let i = (hash >>> 1) & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
      const h = hashes[i] as number;
      if (h === EMPTY) return -1 - (free >= 0 ? free : i);
      if (h === DELETED) {
        if (free < 0) free = i;
      } else if (h === hash && this.slotKeys[i] === key) return i;
    }
    return full();
  }

  /** Puts `key` in the free slot `slot` found by {@link Slots.findForInsert}. */
  protected fill(slot: number, key: string, hash: number): void {
    if (this.hashes[slot] === EMPTY) this.#filled++;
    this.hashes[slot] = hash;
    this.slotKeys[slot] = key;
    this.#size++;
  }

  /** The slot holding `key`, or -1 (also for a key that is not a string: none is ever added). */
  protected slotOf(key: string): number {
    return typeof key === 'string' ? this.find(key, hashString(key)) : -1;
  }

  /** Deletes `key`: the slot it held, or -1 when it was not there. */
  protected remove(key: string): number {
    const slot = this.slotOf(key);
    if (slot >= 0) this.clear(slot);
    return slot;
  }

  /** Empties live slot `slot`. */
  protected clear(slot: number): void {
    this.hashes[slot] = DELETED;
    this.slotKeys[slot] = undefined;
    this.#size--;
  }

  /** Resize hooks of a table with values: before (new capacity), per moved slot, and after. */
  protected resizing(_capacity: number): void {}
  protected moved(_from: number, _to: number): void {}
  protected resized(): void {}

  /** Rehashes into a table at most 3/8 full: twice the slots, or as many or fewer when tombstones were much of what filled it. */
  #resize(): void {
    const oldHashes = this.hashes;
    const oldKeys = this.slotKeys;
    let capacity = FIRST_CAPACITY;
    while (8 * this.#size > 3 * capacity) capacity *= 2;
    // Before anything changes: the key being added is not added, and the table stays as it was.
    if (capacity > this.maxCapacity) tooMany(this.#size, this.maxCapacity);
    this.resizing(capacity);
    this.hashes = new Int32Array(capacity);
    this.slotKeys = emptySlots(capacity);
    this.mask = capacity - 1;
    for (let from = 0; from < oldHashes.length; from++) {
      const h = oldHashes[from] as number;
      if (h === EMPTY || h === DELETED) continue;
      let to = (h >>> 1) & this.mask;
      while (this.hashes[to] !== EMPTY) to = (to + 1) & this.mask;
      this.hashes[to] = h;
      this.slotKeys[to] = oldKeys[from];
      this.moved(from, to);
    }
    this.#filled = this.#size;
    this.resized();
  }
}

/** A set of strings (see the module comment for why not `Set`). */
export class StringSet extends Slots {
  has(key: string): boolean {
    return this.slotOf(key) >= 0;
  }

  /** Adds `key`; true when it was not there yet. One probe: `has` then `add` would be two. */
  add(key: string): boolean {
    const hash = hashString(key);
    const slot = this.findForInsert(key, hash);
    if (slot >= 0) return false;
    this.fill(-1 - slot, key, hash);
    return true;
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    return this.remove(key) >= 0;
  }
}

/** A map from strings to values (see the module comment for why not `Map`). No iteration: the store never lists its timelines. */
export class StringMap<V> extends Slots {
  #values: Array<V | undefined> = emptySlots(FIRST_CAPACITY);
  /** The value array being filled during a resize. */
  #next: Array<V | undefined> | undefined;

  get(key: string): V | undefined {
    const slot = this.slotOf(key);
    return slot < 0 ? undefined : this.#values[slot];
  }

  set(key: string, value: V): this {
    const hash = hashString(key);
    const slot = this.findForInsert(key, hash);
    if (slot >= 0) this.#values[slot] = value;
    else {
      this.fill(-1 - slot, key, hash);
      this.#values[-1 - slot] = value;
    }
    return this;
  }

  delete(key: string): boolean {
    const slot = this.remove(key);
    if (slot >= 0) this.#values[slot] = undefined;
    return slot >= 0;
  }

  /** Calls `fn` with every value, in no particular order. */
  forEachValue(fn: (value: V) => void): void {
    const { hashes } = this;
    for (let i = 0; i < hashes.length; i++) {
      const h = hashes[i] as number;
      if (h !== EMPTY && h !== DELETED) fn(this.#values[i] as V);
    }
  }

  protected override resizing(capacity: number): void {
    this.#next = emptySlots(capacity);
  }

  protected override moved(from: number, to: number): void {
    (this.#next as Array<V | undefined>)[to] = this.#values[from];
  }

  protected override resized(): void {
    this.#values = this.#next as Array<V | undefined>;
    this.#next = undefined;
  }
}

/** The largest table {@link emptySlots} makes with `fill`. */
const FILLED_UP_TO = 1 << 25;

/**
 * `size` slots holding `undefined`. Up to 2²⁵ slots, one `new Array(size)` filled: pushing grows
 * the array dozens of times on its way, each growth a copy (Node 20, a fresh process each: 2²⁰ slots
 * 76 ms pushed against 17 ms filled, 2²⁴ 1.4 s against 0.25 s — a 10M-event store resizes its id
 * index to 2²⁴ once — and the pushed tables' resizes were ~2.4% of the pipeline's CPU at 400k events),
 * and a pushed array kept up to half its length again as spare room: 932 → 912 bytes per lead at 1M
 * tour events with filled ones (measured).
 * Past 2²⁵, `fill` on such an array took 44 s at 2²⁶ and pushing 4.2 s, so larger tables push.
 */
function emptySlots<T>(size: number): Array<T | undefined> {
  if (size <= FILLED_UP_TO) return new Array<T | undefined>(size).fill(undefined);
  const slots: Array<T | undefined> = [];
  for (let i = 0; i < size; i++) slots.push(undefined);
  return slots;
}

function tooMany(size: number, maxCapacity: number): never {
  throw new Error(`[leadpipe] [memory-store] internal: a hash table of ${size} keys cannot grow past ${maxCapacity} slots; the caller should have checked for room (the store keeps tables at or below MAX_KEYS)`);
}

function full(): never {
  throw new Error('[leadpipe] [memory-store] internal: a hash table has no empty slot left');
}
