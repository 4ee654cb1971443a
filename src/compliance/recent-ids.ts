// The set of recently retained message ids, in fixed memory: packet ids are 16 random bytes,
// kept as four 32-bit words in two open-addressing tables ("generations"). When the newer one
// is full the older is cleared and becomes the newer, so at least the last `window` ids are
// always remembered and never more than 2 × window.

export function idWords(hex: string): Uint32Array {
  return Uint32Array.of(parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8, 16), 16), parseInt(hex.slice(16, 24), 16), parseInt(hex.slice(24, 32), 16));
}

class IdTable {
  readonly slots: Uint32Array;
  count = 0;
  zero = false;
  constructor(
    private readonly mask: number,
    private readonly seed: number,
  ) {
    this.slots = new Uint32Array((mask + 1) * 4);
  }

  /** Ids come from senders, so the slot is a keyed mix of all four words, not just the first. */
  private home(w: Uint32Array): number {
    let h = this.seed ^ w[0]!;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ w[1]!;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ w[2]!;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ w[3]!;
    return (h ^ (h >>> 15)) & this.mask;
  }

  has(w: Uint32Array): boolean {
    // The all-zero id would look like an empty slot, so it has a flag of its own.
    if ((w[0]! | w[1]! | w[2]! | w[3]!) === 0) return this.zero;
    const s = this.slots;
    for (let i = this.home(w); ; i = (i + 1) & this.mask) {
      const o = i * 4;
      if ((s[o]! | s[o + 1]! | s[o + 2]! | s[o + 3]!) === 0) return false;
      if (s[o] === w[0] && s[o + 1] === w[1] && s[o + 2] === w[2] && s[o + 3] === w[3]) return true;
    }
  }

  add(w: Uint32Array): void {
    if ((w[0]! | w[1]! | w[2]! | w[3]!) === 0) {
      this.zero = true;
      return;
    }
    const s = this.slots;
    for (let i = this.home(w); ; i = (i + 1) & this.mask) {
      const o = i * 4;
      if ((s[o]! | s[o + 1]! | s[o + 2]! | s[o + 3]!) === 0) {
        s.set(w, o);
        this.count++;
        return;
      }
      if (s[o] === w[0] && s[o + 1] === w[1] && s[o + 2] === w[2] && s[o + 3] === w[3]) return;
    }
  }

  clear(): void {
    this.slots.fill(0);
    this.count = 0;
    this.zero = false;
  }
}

export class RecentIds {
  private newer: IdTable;
  private older: IdTable;

  /** Memory: 2 tables × (2 × window rounded up to a power of two) slots × 16 bytes. */
  constructor(private readonly window: number) {
    let slots = 1;
    while (slots < window * 2) slots *= 2;
    const seed = (Math.random() * 0x100000000) >>> 0;
    this.newer = new IdTable(slots - 1, seed);
    this.older = new IdTable(slots - 1, seed);
  }

  has(w: Uint32Array): boolean {
    return this.newer.has(w) || this.older.has(w);
  }

  add(w: Uint32Array): void {
    if (this.has(w)) return;
    if (this.newer.count >= this.window) {
      const t = this.older;
      t.clear();
      this.older = this.newer;
      this.newer = t;
    }
    this.newer.add(w);
  }
}
