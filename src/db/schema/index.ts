// Every table, one file per feature; drizzle-kit reads this to generate migrations.
export * from "./system.ts";
export * from "./admins.ts";
export * from "./directory.ts";
export * from "./tokens.ts";
export * from "./audit.ts";
export * from "./messaging.ts";
export * from "./files.ts";
export * from "./compliance.ts";
export * from "./network-admin.ts";
export * from "./bulk-jobs.ts";
