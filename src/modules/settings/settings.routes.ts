// REST endpoints for deployment settings, the room bot and the sign-in
// page's appearance; plus the public logo the sign-in page shows.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, guarded } from "../../http/auth.ts";
import { AppError } from "../../http/errors.ts";
import { errorResponses, json } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { LOGO_MAX_BYTES } from "./logo.ts";
import {
  LOGIN_TEXT_MAX,
  deploymentSettingsSchema,
  getAppearance,
  getDeploymentSettings,
  getLogo,
  isRoomBotEnabled,
  removeLogo,
  setLoginText,
  setLogo,
  setRoomBotEnabled,
  updateDeploymentSettings,
} from "./settings.service.ts";

const Settings = deploymentSettingsSchema.openapi("DeploymentSettings");
const RoomBot = z.object({ enabled: z.boolean() }).strict().openapi("RoomBot");
const Appearance = z
  .object({ loginText: z.string(), logo: z.object({ type: z.string(), bytes: z.number(), url: z.string() }).nullable() })
  .openapi("Appearance");

export function registerSettingsRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/settings",
      tags: ["Settings"],
      summary: "Deployment settings",
      ...guarded("settings.read"),
      responses: { 200: { description: "settings", ...json(Settings) }, ...errorResponses(401, 403) },
    }),
    (c) => c.json(getDeploymentSettings(ctx), 200),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/v1/settings",
      tags: ["Settings"],
      summary: "Change deployment settings",
      ...guarded("settings.write"),
      request: { body: { required: true, ...json(deploymentSettingsSchema.partial()) } },
      responses: { 200: { description: "the settings now", ...json(Settings) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => c.json(await updateDeploymentSettings(ctx, actorOf(c), c.req.valid("json")), 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/room-bot",
      tags: ["Settings"],
      summary: "Whether the room bot is enabled for the deployment",
      ...guarded("settings.read"),
      responses: { 200: { description: "state", ...json(RoomBot) }, ...errorResponses(401, 403) },
    }),
    (c) => c.json({ enabled: isRoomBotEnabled(ctx) }, 200),
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/room-bot",
      tags: ["Settings"],
      summary: "Enable or disable the room bot",
      description: "Network administrators' default rooms need the room bot.",
      ...guarded("roomsbot.write"),
      request: { body: { required: true, ...json(RoomBot) } },
      responses: { 200: { description: "state", ...json(RoomBot) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const { enabled } = c.req.valid("json");
      await setRoomBotEnabled(ctx, actorOf(c), enabled);
      return c.json({ enabled }, 200);
    },
  );

  const appearanceView = () => {
    const a = getAppearance(ctx);
    return { loginText: a.loginText, logo: a.logo ? { type: a.logo.type, bytes: a.logo.bytes, url: "/appearance/logo" } : null };
  };
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/appearance",
      tags: ["Appearance"],
      summary: "The sign-in page's logo and text (public: the sign-in page shows them)",
      responses: { 200: { description: "appearance", ...json(Appearance) } },
    }),
    (c) => c.json(appearanceView(), 200),
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/appearance/text",
      tags: ["Appearance"],
      summary: "Set the sign-in page's text",
      ...guarded("appearance.write"),
      request: { body: { required: true, ...json(z.object({ loginText: z.string().max(LOGIN_TEXT_MAX) }).strict()) } },
      responses: { 200: { description: "appearance", ...json(Appearance) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      await setLoginText(ctx, actorOf(c), c.req.valid("json").loginText);
      return c.json(appearanceView(), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/appearance/logo",
      tags: ["Appearance"],
      summary: "Upload the sign-in logo",
      description: `The body is the image itself, Content-Type image/png or image/jpeg, at most ${LOGO_MAX_BYTES / 1024} KiB and 4096×4096 pixels. The file's structure is checked strictly; SVG, HTML or anything else is refused.`,
      ...guarded("appearance.write"),
      request: {
        body: { required: true, content: { "image/png": { schema: z.string().openapi({ format: "binary" }) }, "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } } },
      },
      responses: { 200: { description: "appearance", ...json(Appearance) }, ...errorResponses(400, 401, 403, 413) },
    }),
    async (c) => {
      const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "image/png" && type !== "image/jpeg") throw new AppError("unsupported_media_type", "send the image with Content-Type image/png or image/jpeg");
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      await setLogo(ctx, actorOf(c), bytes, type);
      return c.json(appearanceView(), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/appearance/logo",
      tags: ["Appearance"],
      summary: "Remove the sign-in logo",
      ...guarded("appearance.write"),
      responses: { 200: { description: "appearance", ...json(Appearance) }, ...errorResponses(401, 403) },
    }),
    async (c) => {
      await removeLogo(ctx, actorOf(c));
      return c.json(appearanceView(), 200);
    },
  );

  // The logo itself: only ever the validated PNG/JPEG bytes with their own type, sandboxed.
  app.get("/appearance/logo", (c) => {
    const logo = getLogo(ctx);
    if (!logo) throw new AppError("not_found", "no logo has been uploaded");
    if (c.req.header("if-none-match") === logo.etag) return c.body(null, 304);
    c.header("Content-Type", logo.type);
    c.header("ETag", logo.etag);
    c.header("Cache-Control", "no-cache");
    c.header("Content-Disposition", 'inline; filename="logo"');
    c.header("Content-Security-Policy", "default-src 'none'; sandbox");
    return c.body(logo.body as Uint8Array<ArrayBuffer>);
  });
}
