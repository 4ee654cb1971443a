// Every security-group setting, its default and its range, and who enforces
// it: "server" settings are checked by Outpost itself; "client" settings are
// delivered to clients, which honour them (the console marks which is which).
import { z } from "@hono/zod-openapi";

const DAY = 86_400;

export const securityGroupSettingsSchema = z
  .object({
    general: z
      .object({
        previewNotifications: z.boolean().default(true),
        userPresence: z.boolean().default(true),
        desktopUpdateBanner: z.boolean().default(true),
      })
      .strict()
      .default({ previewNotifications: true, userPresence: true, desktopUpdateBanner: true }),
    messaging: z
      .object({
        linkPreviews: z.boolean().default(true),
        locationSharing: z.boolean().default(true),
        mapSharing: z.boolean().default(true),
        attachments: z.boolean().default(true),
        secureShredder: z.boolean().default(false),
        botReadReceipts: z.boolean().default(false),
        compressUploads: z.boolean().default(false),
        /** Longest expiration (seconds) any message may have; clients may pick less. */
        maxExpirationSeconds: z.number().int().min(60).max(365 * DAY).default(365 * DAY),
        quickResponses: z.array(z.string().min(1).max(8000)).max(10).default([]),
        maxUploadBytes: z.number().int().min(1).max(5 * 1024 ** 3).default(5 * 1024 ** 3),
      })
      .strict()
      .default({
        linkPreviews: true, locationSharing: true, mapSharing: true, attachments: true, secureShredder: false,
        botReadReceipts: false, compressUploads: false, maxExpirationSeconds: 365 * DAY, quickResponses: [], maxUploadBytes: 5 * 1024 ** 3,
      }),
    calling: z
      .object({
        audio: z.boolean().default(true),
        video: z.boolean().default(true),
        forceTcp: z.boolean().default(false),
      })
      .strict()
      .default({ audio: true, video: true, forceTcp: false }),
    security: z
      .object({
        alwaysReauthenticate: z.boolean().default(false),
        userCanChangePassword: z.boolean().default(true),
        password: z
          .object({
            minLength: z.number().int().min(6).max(128).default(10),
            requireLower: z.boolean().default(true),
            requireUpper: z.boolean().default(true),
            requireDigit: z.boolean().default(true),
            requireSymbol: z.boolean().default(false),
          })
          .strict()
          .default({ minLength: 10, requireLower: true, requireUpper: true, requireDigit: true, requireSymbol: false }),
        /** Wrong passwords in a row before the device's keys are reset (0 = never). */
        deviceResetAfter: z.number().int().min(0).max(100).default(0),
        /** Wrong passwords in a row before the account is suspended (0 = never). */
        suspendAfter: z.number().int().min(0).max(100).default(10),
      })
      .strict()
      .default({
        alwaysReauthenticate: false, userCanChangePassword: true,
        password: { minLength: 10, requireLower: true, requireUpper: true, requireDigit: true, requireSymbol: false },
        deviceResetAfter: 0, suspendAfter: 10,
      }),
    federation: z
      .object({
        local: z.enum(["disabled", "enabled", "restricted"]).default("disabled"),
        permittedNetworks: z.array(z.object({ label: z.string().min(1).max(100), networkId: z.string().min(1).max(64) }).strict()).max(100).default([]),
      })
      .strict()
      .default({ local: "disabled", permittedNetworks: [] }),
  })
  .strict()
  .openapi("SecurityGroupSettings");

export type SecurityGroupSettings = z.infer<typeof securityGroupSettingsSchema>;

export const defaultSecurityGroupSettings = (): SecurityGroupSettings => securityGroupSettingsSchema.parse({});

/** Where each setting is enforced (dotted path → enforcer), shown beside it in the console. */
export const settingEnforcement: Record<string, "server" | "client"> = {
  "general.previewNotifications": "client",
  "general.userPresence": "server",
  "general.desktopUpdateBanner": "client",
  "messaging.linkPreviews": "client",
  "messaging.locationSharing": "client",
  "messaging.mapSharing": "client",
  "messaging.attachments": "server",
  "messaging.secureShredder": "client",
  "messaging.botReadReceipts": "client",
  "messaging.compressUploads": "client",
  "messaging.maxExpirationSeconds": "server",
  "messaging.quickResponses": "client",
  "messaging.maxUploadBytes": "server",
  "calling.audio": "server",
  "calling.video": "server",
  "calling.forceTcp": "server",
  "security.alwaysReauthenticate": "client",
  "security.userCanChangePassword": "server",
  "security.password": "server",
  "security.deviceResetAfter": "server",
  "security.suspendAfter": "server",
  "federation.local": "server",
  "federation.permittedNetworks": "server",
};

export { checkUserPassword } from "./password-rule.ts";
