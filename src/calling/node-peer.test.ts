// The node's UDP port pool: one port per peer connection, round robin through the range.
import { expect, test } from "vitest";
import { UdpPortPool } from "./node-peer.ts";

test("hands out each port once, goes round the range, reuses released ports, says when it is exhausted", () => {
  const pool = new UdpPortPool(5000, 5002);
  expect([pool.take(), pool.take(), pool.take()]).toEqual([5000, 5001, 5002]);
  expect(() => pool.take()).toThrow(/5000-5002/);
  pool.release(5001);
  expect(pool.take()).toBe(5001);
  pool.release(5000);
  pool.release(5002);
  expect(pool.used).toBe(1);
  // Round robin: the most recently freed port is not the first one given out again.
  expect(pool.take()).toBe(5002);
  expect(pool.take()).toBe(5000);
});
