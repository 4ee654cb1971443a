// Password hashing for administrators and users: argon2id at OWASP's
// recommended minimum (19 MiB, 2 passes). The default 64 MiB costs ~170 ms and
// 64 MiB of RAM per sign-in on small edge boxes, for little gain.
export const ARGON2_PARAMS = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON2_PARAMS);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return Bun.password.verify(password, hash);
}
