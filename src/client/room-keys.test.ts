// The 4004 key content: written with the first key where single-key readers look, read back
// whole, and malformed keys (from a hostile or broken sender) left out rather than trusted.
import { describe, expect, test } from "vitest";
import { fileVaultContent, fileVaultInfosOf, type FileVaultInfo } from "./room-keys.ts";

const info = (n: number): FileVaultInfo => ({ entryid: `0000000${n}-0000-4000-8000-000000000000`, fileid: `${n}`.repeat(32).slice(0, 32), name: `f${n}`, size: 10, key: "k".repeat(43), chunksize: 4096, chunkhashes: ["a".repeat(64)], sha256: "b".repeat(64) });

describe("room key content", () => {
  test("one key travels as filevaultinfo alone; several keep the first there and the rest in filevaultinfos", () => {
    expect(fileVaultContent([info(1)], false)).toEqual({ changemask: 64, filevaultinfo: info(1) });
    const many = fileVaultContent([info(1), info(2), info(3)], true);
    expect(many).toEqual({ changemask: 64, filevaultinfo: info(1), filevaultinfos: [info(2), info(3)], resent: true });
    expect(fileVaultInfosOf(JSON.parse(JSON.stringify(many)))).toEqual([info(1), info(2), info(3)]);
  });

  test("malformed keys are left out; other changemasks carry none", () => {
    const bad = [
      { ...info(2), entryid: "not-a-uuid" },
      { ...info(3), key: 7 },
      { ...info(4), chunkhashes: "x" },
      { ...info(5), size: -0.5 },
      null,
      "text",
    ];
    expect(fileVaultInfosOf({ changemask: 64, filevaultinfo: info(1), filevaultinfos: bad })).toEqual([info(1)]);
    expect(fileVaultInfosOf({ changemask: 64, filevaultinfo: { ...info(1), extra: "kept out" }, filevaultinfos: "nope" })).toEqual([info(1)]);
    expect(fileVaultInfosOf({ changemask: 4, filevaultinfo: info(1) })).toEqual([]);
    expect(fileVaultInfosOf({ control: { changemask: 64 } })).toEqual([]);
    expect(fileVaultInfosOf(null)).toEqual([]);
  });
});
