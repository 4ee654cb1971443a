// Redaction by key name, at any depth.
import { expect, test } from "vitest";
import { redact } from "./crash-report.service.ts";

test("redact replaces every secret-named value and keeps the rest", () => {
  const out = redact({ host: "0.0.0.0", tlsKey: "/etc/key.pem", nested: { apiToken: "t", list: [{ password: "p", name: "n" }] }, sessionId: "s", csrf: "c", totpSecret: "x", passwordHash: "h", port: 1, empty: null });
  expect(out).toEqual({
    host: "0.0.0.0",
    tlsKey: "[redacted]",
    nested: { apiToken: "[redacted]", list: [{ password: "[redacted]", name: "n" }] },
    sessionId: "[redacted]",
    csrf: "[redacted]",
    totpSecret: "[redacted]",
    passwordHash: "[redacted]",
    port: 1,
    empty: null,
  });
});
