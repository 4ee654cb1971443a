// The local vault: everything this device keeps (device keys, SDK state, conversations,
// message history) lives in IndexedDB encrypted with AES-GCM under a key derived from
// the user's password with PBKDF2; only the salt and a key check are stored in clear.
const DB_NAME = "outpost";
const STORE = "vault";
const META = "meta";
export const PBKDF2_ITERATIONS = 310_000;

interface Meta {
  salt: Uint8Array;
  iterations: number;
  /** A known value sealed under the key: tells a wrong password from a damaged record. */
  check: { iv: Uint8Array; ct: ArrayBuffer };
  username: string;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDb(): Promise<IDBDatabase> {
  const r = indexedDB.open(DB_NAME, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE);
  return req(r);
}

async function deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations }, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

const CHECK = "outpost-vault-v1";

export class WrongPassword extends Error {}

export class Vault {
  private constructor(
    private readonly db: IDBDatabase,
    private key: CryptoKey,
    readonly username: string,
  ) {}

  /** The user name of the vault on this device, if there is one. */
  static async existing(): Promise<string | null> {
    const db = await openDb();
    try {
      const meta = (await req(db.transaction(STORE).objectStore(STORE).get(META))) as Meta | undefined;
      return meta?.username ?? null;
    } finally {
      db.close();
    }
  }

  /** Creates a fresh vault (replacing any previous one on this device). */
  static async create(password: string, username: string): Promise<Vault> {
    const db = await openDb();
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await deriveKey(password, salt, PBKDF2_ITERATIONS);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(META) }, key, new TextEncoder().encode(CHECK));
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).clear();
    tx.objectStore(STORE).put({ salt, iterations: PBKDF2_ITERATIONS, check: { iv, ct }, username } satisfies Meta, META);
    await new Promise((r, j) => ((tx.oncomplete = r), (tx.onerror = () => j(tx.error))));
    return new Vault(db, key, username);
  }

  static async unlock(password: string): Promise<Vault> {
    const db = await openDb();
    const meta = (await req(db.transaction(STORE).objectStore(STORE).get(META))) as Meta | undefined;
    if (!meta) throw new Error("there is no account on this device");
    const key = await deriveKey(password, meta.salt, meta.iterations);
    try {
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: meta.check.iv as Uint8Array<ArrayBuffer>, additionalData: new TextEncoder().encode(META) }, key, meta.check.ct);
    } catch {
      db.close();
      throw new WrongPassword("wrong password");
    }
    return new Vault(db, key, meta.username);
  }

  /** Removes everything this device keeps. */
  static async erase(): Promise<void> {
    const db = await openDb();
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).clear();
    await new Promise((r, j) => ((tx.oncomplete = r), (tx.onerror = () => j(tx.error))));
    db.close();
  }

  /** Encrypts and stores a JSON value; the record name is bound as additional data so records cannot be swapped. */
  async put(name: string, value: unknown): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(name) }, this.key, new TextEncoder().encode(JSON.stringify(value)));
    await req(this.db.transaction(STORE, "readwrite").objectStore(STORE).put({ iv, ct }, name));
  }

  async get<T>(name: string): Promise<T | undefined> {
    const rec = (await req(this.db.transaction(STORE).objectStore(STORE).get(name))) as { iv: Uint8Array; ct: ArrayBuffer } | undefined;
    if (!rec) return undefined;
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: rec.iv as Uint8Array<ArrayBuffer>, additionalData: new TextEncoder().encode(name) }, this.key, rec.ct);
    return JSON.parse(new TextDecoder().decode(pt)) as T;
  }

  /** Re-encrypts every record under a key from a new password (after the account's password changed). */
  async rekey(newPassword: string): Promise<void> {
    const names = (await req(this.db.transaction(STORE).objectStore(STORE).getAllKeys())).map(String).filter((n) => n !== META);
    const values = await Promise.all(names.map((n) => this.get<unknown>(n)));
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await deriveKey(newPassword, salt, PBKDF2_ITERATIONS);
    const seal = async (name: string, plain: Uint8Array) => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      return { iv, ct: await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(name) }, key, plain as Uint8Array<ArrayBuffer>) };
    };
    const check = await seal(META, new TextEncoder().encode(CHECK));
    const records = await Promise.all(names.map((n, i) => seal(n, new TextEncoder().encode(JSON.stringify(values[i])))));
    // All encryption is done before the transaction opens: it must not wait on anything else.
    const tx = this.db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    store.put({ salt, iterations: PBKDF2_ITERATIONS, check, username: this.username } satisfies Meta, META);
    names.forEach((n, i) => store.put(records[i], n));
    await new Promise((r, j) => ((tx.oncomplete = r), (tx.onerror = () => j(tx.error))));
    this.key = key;
  }

  async delete(name: string): Promise<void> {
    await req(this.db.transaction(STORE, "readwrite").objectStore(STORE).delete(name));
  }

  close() {
    this.db.close();
  }
}
