// Scripted input records, one or more per message type, for the golden tests: each names the
// golden file (fixtures/compliance/golden/<file>.jsonl) its line belongs to. Several mirror
// the retention guide's own examples (same users, ids and times) so their lines can be
// compared with the guide by eye.
import type { ComplianceRecord } from "./format.ts";

const dm = "7ad65d17b945d7672190ecab6902fdd06eff162b91adfcda23df3b2ff95875e8";
const room = "S19a8782d9a0441d5e13f15b6789f00bc2f9b8231aa364a2eb3a8269dce2ac21";
const group = "G4ebf561eb2214c4e6f924d09e37bf80b6f9b85cb96b72badb03753d9ed26f7f";
const thirtyDays = 2_592_000;
const alice = "dr002@ent-beta.secmv.net";
const bob = "dr001@ent-beta.secmv.net";

type Golden = { file: string; record: ComplianceRecord };

const base = (messageId: string, receivedAtUs: number) => ({
  messageId,
  receivedAtUs,
  sender: alice,
  senderType: "normal" as const,
  receiver: bob,
  conversationId: dm,
  ttl: thirtyDays,
  bor: 0,
  linkPreviews: false,
});
const inRoom = (messageId: string, receivedAtUs: number, conversationId = room) => ({ ...base(messageId, receivedAtUs), receiver: undefined, conversationId });

export const goldenRecords: Golden[] = [
  // 1000 text
  { file: "text", record: { ...base("a526085032fa11ee9a74053bb1017859", 1691176258901277), type: 1000, content: { text: "test message" } } },
  { file: "text", record: { ...inRoom("e2c5115032fb11ee9a74053bb1017859", 1691176791781279), bor: 518_400, type: 1000, content: { text: "test message in a secure room" } } },
  { file: "text", record: { ...inRoom("0c1d2e3f32fb11ee9a74053bb1017859", 1691176800000001, group), ttl: 0, type: 1000, content: { text: "group message without expiry" } } },
  {
    file: "text",
    record: { ...base("b8b1f1e032fa11ee9a74053bb1017859", 1691176397971030), linkPreviews: true, type: 1000, content: { text: "Test message with a link: https://weather.com/weather/today" } },
  },
  {
    file: "text",
    record: { ...base("b8b1f1e032fa11ee9a74053bb1017860", 1691176398000000), linkPreviews: false, type: 1000, content: { text: "Previews off: https://weather.com/weather/today" } },
  },
  {
    file: "text",
    record: {
      ...base("b8b1f1e032fa11ee9a74053bb1017861", 1691176399000000),
      linkPreviews: true,
      type: 1000,
      content: { text: "two (https://a.example/x), and https://b.example/y?q=1." },
    },
  },
  {
    file: "text",
    record: { ...base("c0ffee0032fa11ee9a74053bb1017859", 1691176400123456), senderType: "guest", sender: "guest.visitor@example.org", type: 1000, content: { text: "Grüße 👋 \"quoted\"\nnext line \\ tab\t日本語" } },
  },
  // 3000 verification, every subtype
  ...[1, 2, 3, 4, 5].map((kind) => ({
    file: "verification",
    record: {
      ...base(`6054031032fc11ee9a74053bb101785${kind}`, 1691177002433400 + kind),
      receiver: "cn0623_01@amazon.com",
      conversationId: "31767dd6dc31cd5d87579e2694b041116d31ae1750cbcec8e957d237c7fe0591",
      type: 3000 as const,
      content: kind === 3 ? { kind, verifiedKey: "00040115f7ba8af2b6f2e2e7f8e61cf61d750f25aff2df4866ccd03d02675233706c802d8e979facb7293dc0077eb" } : { kind },
    },
  })),
  // 6000 file
  {
    file: "file",
    record: {
      ...base("4f8d3b6032fb11ee9a74053bb1017859", 1691176544790581),
      type: 6000,
      content: { fileName: "claymation.gif", fileId: "b3078e72-c983-44c4-9097-8b884782b328", uploadedBy: "Test User", uploadedAtMs: 1691176544000 },
      attachment: new TextEncoder().encode("GIF89a fake gif bytes"),
    },
  },
  {
    file: "file",
    record: {
      ...inRoom("4f8d3b6032fb11ee9a74053bb1017860", 1691176545000000),
      type: 6000,
      content: { fileName: "Screenshot 2023-08-04.png", fileId: "c3078e72-c983-44c4-9097-8b884782b328", isScreenshot: true },
      attachment: new Uint8Array([137, 80, 78, 71]),
    },
  },
  // 7000 call: start, invite, end, missed, cancelled
  {
    file: "call",
    record: {
      ...base("4d421aa08be811eaaf7a493af2765a5b", 1588364043307106),
      sender: "user100",
      receiver: "user5",
      ttl: 0,
      type: 7000,
      content: {
        status: 0,
        callUri: "3.86.149.242:16398",
        callUriIpv6: "[2600:1f18:2741:9e01:e0cb:6847:bb1d:415d]:16398",
        meetingId: 0,
        participants: ["8995950dad747c24fd7c9e2da68edeb6c2c0ac6cb96d405c0c4c58e09ff46969", "ae182b20ce36a94c613af5a2964bbd616de662d3f8487dc39fa9400e739a3049"],
        version: 2,
        versionCheck: true,
      },
    },
  },
  {
    file: "call",
    record: {
      ...base("ce22f14095ef11eaa1cbdf2a74e88e51", 1589466777633896),
      sender: "comptst101",
      receiver: "comptst100",
      ttl: 0,
      type: 7000,
      content: {
        status: 0,
        callUri: "18.234.76.29:16504",
        callUriIpv6: "[2600:1f18:2741:9e00:3fba:154:6431:df8e]:16504",
        inviteMessageId: "87b5e4a095ef11ea99b03bd5dd4eaa9d",
        meetingId: 0,
        participants: ["ae182b20ce36a94c613af5a2964bbd616de662d3f8487dc39fa9400e739a3049"],
        startMessageId: "87b5e4a095ef11ea99b03bd5dd4eaa9d",
        version: 2,
        versionCheck: true,
      },
    },
  },
  {
    file: "call",
    record: {
      ...base("8b9d94408bea11ea89aea91887dfff41", 1588365006918849),
      sender: "user100",
      receiver: "user005",
      ttl: 0,
      type: 7000,
      content: { status: 1, durationSeconds: 38, meetingId: 1, startMessageId: "72c9a3b08bea11ea89078f7ca8a1b909", version: 2, versionCheck: true },
    },
  },
  { file: "call", record: { ...inRoom("8b9d94408bea11ea89aea91887dfff42", 1588365007000000, group), type: 7000, content: { status: 2, startMessageId: "72c9a3b08bea11ea89078f7ca8a1b909" } } },
  { file: "call", record: { ...inRoom("8b9d94408bea11ea89aea91887dfff43", 1588365008000000), type: 7000, content: { status: 3, startMessageId: "72c9a3b08bea11ea89078f7ca8a1b909" } } },
  // 8000 location
  {
    file: "location",
    record: { ...base("1f88fdc08bec11ea81b689d23fa72c7b", 1588365684583407), sender: "user100", receiver: "user003", ttl: 0, type: 8000, content: { latitude: 40.75017899435506, longitude: -74.99449803034105 } },
  },
  // 9000 edit: live location update and text edit
  {
    file: "edit",
    record: {
      ...base("1f88fdc08bec11ea81b689d23fa72c7c", 1588365694583407),
      sender: "user100",
      receiver: "user003",
      ttl: 0,
      type: 9000,
      content: { type: "location", originalMessageId: "1f88fdc08bec11ea81b689d23fa72c7b", latitude: 40.7502, longitude: -74.9945, shareExpiresAtMs: 1588369284000 },
    },
  },
  {
    file: "edit",
    record: {
      ...inRoom("1163e5b08da211eab775a5032a0322ca", 1588553780419871, "S243f2ec645d3961bdd531f51f3244205d292b8d0fbd41802827746271d31d41"),
      sender: "user001",
      ttl: 0,
      type: 9000,
      content: { type: "text", originalMessageId: "11457fa08da211ea881baffab0b42745", text: "https://howdoyoudo.com" },
    },
  },
  // 4001-4005 room control
  {
    file: "control",
    record: {
      ...inRoom("be452b00f89711e883588d1e7a946847", 1544019125753230, "S58a15186365d2125a9b417e71b99bcb29e3770078e157e953cfbe28443eb750"),
      sender: "user002",
      ttl: 0,
      type: 4001,
      content: { bor: 0, changeMask: 47, description: "", masters: ["user001", "user002"], members: ["user001", "user002", "user003"], title: "Creating a room", ttl: 2592000 },
    },
  },
  {
    file: "control",
    record: {
      ...inRoom("d34058a0f89711e88760d7c8037ea946", 1544019160275884, "S58a15186365d2125a9b417e71b99bcb29e3770078e157e953cfbe28443eb750"),
      sender: "user002",
      ttl: 0,
      type: 4002,
      content: { addedUsers: [], deletedUsers: ["testuser"] },
    },
  },
  {
    file: "control",
    record: { ...inRoom("d34058a0f89711e88760d7c8037ea947", 1544019161000000, "S58a15186365d2125a9b417e71b99bcb29e3770078e157e953cfbe28443eb750"), sender: "user003", ttl: 0, type: 4003, content: {} },
  },
  {
    file: "control",
    record: {
      ...inRoom("db805750f89711e8a01ab328ac0b2f04", 1544019174117057, "S58a15186365d2125a9b417e71b99bcb29e3770078e157e953cfbe28443eb750"),
      sender: "user002",
      ttl: 0,
      type: 4004,
      content: { bor: 0, changeMask: 47, description: "change description", masters: ["user001"], members: ["user001", "user002"], title: "Creating a room", ttl: 2592000 },
    },
  },
  {
    file: "control",
    record: {
      ...inRoom("c3cb62e08dff11eab641a549111a64cb", 1588594022928361, "S243f2ec645d3961bdd531f51f3244205d292b8d0fbd41802827746271d31d41"),
      sender: "user001",
      ttl: 0,
      type: 4004,
      content: {
        bor: 0,
        changeMask: 64,
        description: "",
        fileVaultInfo: { fileHash: "4eab763c5f3211ca93966ad3e461c27f5432c1", guid: "D094F147-0490-4A14-9A65-6F23C896A8B4", key: "00f8058d88e6b7520849bbfd8e6b5cc12d35a70c856dde44d64e2e331fc50ce700" },
        masters: ["user002", "user001"],
        members: ["user002", "user001"],
        title: "Test",
        ttl: 2592000,
      },
    },
  },
  {
    file: "control",
    record: { ...inRoom("06364710f89811e899418b6723464a0c", 1544019245773676, "S7879eb406958d83b991a5f2acb29e5ad8565a4faa41e1c5cbd7004c5586ddd5"), sender: "user002", ttl: 0, type: 4005, content: null },
  },
  // 4011 delete / recall, 4012 star, 4013 sync request, 4014 pin
  {
    file: "control",
    record: {
      ...base("bea7ad10f89811e8822887c76561d99d", 1544019555217633),
      sender: "user002",
      receiver: "user001",
      conversationId: "3f13df0d8f267812d7e743a518fcfb6dacf6fd0824e16a83a4d2a06d32cf8d9c",
      ttl: 0,
      type: 4011,
      content: { isRecall: false, messageId: "4ab537d0f85d11e88c2225680208f9ff" },
    },
  },
  { file: "control", record: { ...inRoom("bea7ad10f89811e8822887c76561d99e", 1544019556000000, group), type: 4011, content: { isRecall: true, messageId: "4ab537d0f85d11e88c2225680208f9fe" } } },
  {
    file: "control",
    record: {
      ...base("b0d284d08be311eaaf7f51713016a94c", 1588362062864376),
      sender: "user100",
      receiver: "user123",
      conversationId: "4ebf561eb2214c4e6f924d09e37bf80b6f9b85cb96b72badb03753d9ed26f7f4",
      ttl: 0,
      type: 4012,
      content: { attributes: [{ isStarred: true, messageId: "93cf81608bbd11ea9a16b7554e31eed2" }, { isStarred: false, messageId: "93cf81608bbd11ea9a16b7554e31eed3" }] },
    },
  },
  { file: "control", record: { ...inRoom("b0d284d08be311eaaf7f51713016a94d", 1588362063000000), ttl: 0, type: 4013, content: {} } },
  {
    file: "control",
    record: {
      ...inRoom("c5bce5e0ca2f11e78946112c51861afa", 1689098841981000, "Sb0e9297f2208dc86b63b288df8c226882e1052b65022edb9edb9ecf6e77db08"),
      sender: "user003",
      ttl: 31_536_000,
      type: 4014,
      content: { pinned: true },
    },
  },
  // 4015 room file key request (Outpost's own type: a device asks the room for Files-area keys; the line keeps the common keys only)
  { file: "control", record: { ...inRoom("d1e2f3a4b5c611eda1b20242ac120002", 1700000000000000), ttl: 0, type: 4015, content: {} } },
];
