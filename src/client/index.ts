// Public surface of the Outpost client SDK.
export { OutpostClient, type ClientEvent, type ClientPolicy, type DeviceState, type SendOptions, type SendResult } from "./client.ts";
export { OutpostError, type ClientConfig } from "./api.ts";
export { MessageType, extractLinks, type ReceivedMessage, type TextContent, type EditContent, type LocationContent, type DeleteContent, type StarContent, type PinContent, type VerificationContent } from "./messages.ts";
export { CallManager, ActiveCall, CallStatus, callRecordContent, usernameHash, type CallContent, type CallEvent, type CallOptions, type CallStatusCode, type CallTicket } from "./calls.ts";
export { files, fileContentOf, FileTransfer, DEFAULT_CHUNK_SIZE, type FileContent, type FileSource, type FileProgress, type UploadHandle, type SendFileOptions, type ReceiveOptions, type RoomFileEntry } from "./files.ts";
export { roomKeys, RoomKeys, fileVaultContent, fileVaultInfosOf, DEFAULT_ANSWER_INTERVAL_MS, MAX_REQUEST_ENTRIES, type RoomFileKey, type RoomKeyStore, type RoomKeyEvent, type RoomKeyOptions, type FileVaultInfo, type RoomFileKeyRequest } from "./room-keys.ts";
export { liveMessages, openSyncHistory, sealSyncHistory, MAX_SYNC_HISTORY_BYTES, type SyncHistory, type SyncHistoryMessage } from "./device-sync.ts";
