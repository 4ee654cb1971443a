// The password complexity rule of a security group, free of any server dependency so the
// browser client checks a new password with the very code the server checks it with.

export interface PasswordRule {
  minLength: number;
  requireLower: boolean;
  requireUpper: boolean;
  requireDigit: boolean;
  requireSymbol: boolean;
}

/** Checks a user password against a group's complexity rule; returns the broken rule or null. */
export function checkUserPassword(password: string, rule: PasswordRule): string | null {
  if (password.length < rule.minLength) return `must be at least ${rule.minLength} characters`;
  if (password.length > 1024) return "must be at most 1024 characters";
  if (rule.requireLower && !/[a-z]/.test(password)) return "must contain a lower-case letter";
  if (rule.requireUpper && !/[A-Z]/.test(password)) return "must contain an upper-case letter";
  if (rule.requireDigit && !/[0-9]/.test(password)) return "must contain a digit";
  if (rule.requireSymbol && !/[^A-Za-z0-9]/.test(password)) return "must contain a symbol";
  return null;
}

/** The rule in words, for the place where a user types a new password. */
export function describePasswordRule(rule: PasswordRule): string {
  const needs = [rule.requireLower && "a lower-case letter", rule.requireUpper && "an upper-case letter", rule.requireDigit && "a digit", rule.requireSymbol && "a symbol"].filter(Boolean);
  return `At least ${rule.minLength} characters${needs.length ? `, with ${needs.join(", ")}` : ""}.`;
}
