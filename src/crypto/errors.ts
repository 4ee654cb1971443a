// The one error type of the protocol module: every refusal carries a code so callers
// (client SDK, relay, compliance writer) can show or count it without parsing messages.

export type PacketErrorCode =
  | "unknown_version"
  | "unknown_suite"
  | "device_not_signed"
  | "root_mismatch"
  | "bad_signature"
  | "no_wrap"
  | "bad_wrap"
  | "bad_body"
  | "replay"
  | "malformed";

export class PacketError extends Error {
  readonly code: PacketErrorCode;

  constructor(code: PacketErrorCode, message?: string) {
    super(message ? `${code}: ${message}` : code);
    this.name = "PacketError";
    this.code = code;
  }
}
