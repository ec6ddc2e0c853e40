/**
 * A slab: many small blocks of one array type carved out of a few large arrays, for the memory
 * store's lead records (see `lead-record.ts`) and timelines (`timeline.ts`).
 *
 * Why: a record's numbers and strings in two arrays of their own cost two array objects and two
 * backing-store headers per lead (~96 bytes, with a few million leads the largest fixed cost after
 * the record itself) and two more objects per lead for the garbage collector to visit. In a slab a
 * block is a position: nothing per block but its contents, and a chunk of numbers is one object
 * the collector never looks inside.
 *
 * Chunks start small (a store with a few leads takes a few kilobytes) and double up to
 * {@link CHUNK} slots. A block is addressed by a **ref**, `chunk · 2¹⁶ + offset`: a small integer
 * (a record field holding it is not boxed) for the first 2¹⁵ chunks, 16 GB of slots, and a plain
 * number past them. Blocks never straddle chunks; a block larger than a chunk gets a chunk of its
 * own (offset 0). Freed blocks are kept by size and handed out again to the next block of that
 * size; a freed block larger than a chunk releases its chunk.
 * @module
 */

/** Slots per chunk, at most: the spacing of refs. */
export const CHUNK = 1 << 16;
/** Slots of a slab's first chunk. */
const FIRST_CHUNK = 256;

/** Blocks of slots of type `T`. */
export class Slab<T> {
  /** The chunks; the block at ref `r` starts at `chunks[chunkOf(r)][offsetOf(r)]`. */
  readonly chunks: T[][] = [];
  /** The chunk blocks are being cut from (none yet: -1), its size, and how far it is cut. */
  #filling = -1;
  #size = 0;
  #used = 0;
  /** Freed blocks by size. */
  readonly #free = new Map<number, number[]>();
  /** Slots in blocks handed out and not freed, and in freed blocks waiting to be handed out again. */
  #live = 0;
  #waiting = 0;

  /**
   * @param make Makes a chunk of `size` slots, filled (not holey). Each slab passes its own
   * function: V8 remembers the element kind per allocation site, so one shared `new Array` would
   * make the number chunks take the kind of the reference chunks and box every number.
   */
  constructor(private readonly make: (size: number) => T[]) {}

  /** Slots in blocks handed out and not freed. */
  get live(): number {
    return this.#live;
  }

  /** Slots in freed blocks that wait for a block of their exact size (a block larger than a chunk is not kept). */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * A block of `size` slots (> 0). Its slots hold whatever they held before: the caller must not
   * read a slot before writing it (lead records write every one; a timeline reads only the events it wrote).
   */
  alloc(size: number): number {
    this.#live += size;
    const reuse = this.#free.get(size);
    if (reuse !== undefined && reuse.length > 0) {
      this.#waiting -= size;
      return reuse.pop() as number;
    }
    if (size > CHUNK) return this.#newChunk(size) * CHUNK;
    if (this.#used + size > this.#size) {
      // The rest of the chunk (smaller than this block) stays unused.
      this.#size = Math.min(CHUNK, Math.max(FIRST_CHUNK, 2 * this.#size, size));
      this.#filling = this.#newChunk(this.#size);
      this.#used = 0;
    }
    const ref = this.#filling * CHUNK + this.#used;
    this.#used += size;
    return ref;
  }

  /** Gives back a block allocated with `size` slots. */
  free(ref: number, size: number): void {
    this.#live -= size;
    if (size > CHUNK) {
      // A chunk of its own: drop it (its index is not reused).
      this.chunks[chunkOf(ref)] = EMPTY as unknown as T[];
      return;
    }
    let list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, (list = []));
    list.push(ref);
    this.#waiting += size;
  }

  #newChunk(size: number): number {
    this.chunks.push(this.make(size));
    return this.chunks.length - 1;
  }
}

const EMPTY: unknown[] = Object.freeze([]) as unknown as unknown[];

/** The chunk a ref is in. */
export function chunkOf(ref: number): number {
  return Math.floor(ref / CHUNK);
}

/** Where in its chunk a ref's block starts. */
export function offsetOf(ref: number): number {
  return ref % CHUNK;
}
