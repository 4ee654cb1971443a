// The packet log's prepared statements: built once per server, used on every packet.
// Writes run on the writer connection inside group-commit callbacks; queue reads use a
// read connection (they see every committed batch).
import type { Database, Statement } from "bun:sqlite";
import type { AppContext } from "../app/context.ts";
import { relayHooks, type ConversationInfo } from "./hooks.ts";

export interface QueueRow {
  seq: number;
  shared: Uint8Array;
  wrap: Uint8Array;
  bor: number;
  directed: number;
}

export class PacketStore {
  readonly insertPacket: Statement;
  readonly insertWrap: Statement;
  readonly findPacket: Statement<{ seq: number; sender: string }, [string]>;
  private readonly queue: Statement<QueueRow, [string, number, number]>[];
  private readonly conversation: Statement<{ networkId: string; kind: ConversationInfo["kind"] }, [string]>;
  private readonly memberDevices: Statement<{ userId: string; deviceId: string | null }, [string]>;
  private readonly compliance: Statement<{ deviceId: string | null }, [string]>;
  private readonly contacts: Statement<{ deviceId: string }, [string]>;
  private readonly upsertCursor: Statement;
  private readonly burnWrap: Statement;
  private readonly burnPacket: Statement;
  private next = 0;

  constructor(private readonly ctx: AppContext) {
    const w: Database = ctx.storage.writerConn;
    // A packet id already stored inserts nothing (changes = 0): the caller then tells a duplicate from a replay.
    this.insertPacket = w.prepare(
      "insert into packets (packet_id, conversation_id, sender_device_id, shared, received_at, expires_at, bor, directed) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (packet_id) do nothing",
    );
    this.insertWrap = w.prepare("insert into packet_wraps (device_id, seq, wrap) values (?, ?, ?)");
    this.findPacket = w.prepare("select seq, sender_device_id as sender from packets where packet_id = ?");
    this.queue = ctx.storage.readConns.map((c) =>
      c.prepare("select w.seq as seq, p.shared as shared, w.wrap as wrap, p.bor as bor, p.directed as directed from packet_wraps w join packets p on p.seq = w.seq where w.device_id = ? and w.seq > ? order by w.seq limit ?"),
    );
    const r = ctx.storage.readConns[0]!;
    this.conversation = r.prepare("select network_id as networkId, kind from conversations where id = ?");
    this.memberDevices = r.prepare(
      "select m.user_id as userId, d.id as deviceId from conversation_members m left join devices d on d.user_id = m.user_id and d.revoked_at is null where m.conversation_id = ?",
    );
    this.contacts = r.prepare(
      "select distinct d.id as deviceId from conversation_members m1 join conversation_members m2 on m2.conversation_id = m1.conversation_id join devices d on d.user_id = m2.user_id and d.revoked_at is null where m1.user_id = ? limit 5000",
    );
    this.upsertCursor = w.prepare(
      "insert into device_cursors (device_id, acked_seq, updated_at) values (?1, ?2, ?3) on conflict(device_id) do update set acked_seq = max(acked_seq, excluded.acked_seq), updated_at = excluded.updated_at",
    );
    this.burnWrap = w.prepare("delete from packet_wraps where device_id = ? and seq = ?");
    this.burnPacket = w.prepare("delete from packets where seq = ? and not exists (select 1 from packet_wraps where seq = ?)");
    this.compliance = r.prepare("select device_id as deviceId from network_compliance_devices where network_id = ?");
  }

  /** The device's queue after its cursor, oldest first. */
  readQueue(deviceId: string, afterSeq: number, limit: number): QueueRow[] {
    this.next = (this.next + 1) % this.queue.length;
    return this.queue[this.next]!.all(deviceId, afterSeq, limit);
  }

  /** Every active device of every user sharing a conversation with this user (presence). */
  contactDevices(userId: string): string[] {
    return this.contacts.all(userId).map((r) => r.deviceId);
  }

  /**
   * Records a device's delivery cursor. Burn-on-read packets lose this device's wrap once it
   * has them, and leave the server entirely when no recipient device is still waiting.
   */
  saveCursor(deviceId: string, ackedSeq: number, burned: number[]): Promise<void> {
    return this.ctx.writer.run(() => {
      this.upsertCursor.run(deviceId, ackedSeq, Date.now());
      for (const seq of burned) {
        this.burnWrap.run(deviceId, seq);
        this.burnPacket.run(seq, seq);
      }
    });
  }

  /** Membership and member devices of a conversation, cached until a service says they changed. */
  conversationInfo(id: string): ConversationInfo | undefined {
    const state = relayHooks(this.ctx);
    const cached = state.conversations.get(id);
    if (cached) return cached;
    const row = this.conversation.get(id);
    if (!row) return undefined;
    const info: ConversationInfo = { networkId: row.networkId, kind: row.kind, members: new Set(), deviceOwners: new Map() };
    for (const m of this.memberDevices.all(id)) {
      info.members.add(m.userId);
      if (m.deviceId) info.deviceOwners.set(m.deviceId, m.userId);
    }
    state.conversations.set(id, info);
    return info;
  }

  complianceDevice(networkId: string): string | null {
    const state = relayHooks(this.ctx);
    if (state.compliance.has(networkId)) return state.compliance.get(networkId)!;
    const id = this.compliance.get(networkId)?.deviceId ?? null;
    state.compliance.set(networkId, id);
    return id;
  }
}

const stores = new WeakMap<AppContext, PacketStore>();
export function packetStore(ctx: AppContext): PacketStore {
  let s = stores.get(ctx);
  if (!s) stores.set(ctx, (s = new PacketStore(ctx)));
  return s;
}
