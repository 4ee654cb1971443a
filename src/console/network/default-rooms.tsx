// Default rooms page: rooms the room bot keeps the whole network or one
// security group in (members are added automatically and put back if they leave).
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { isRoomBotEnabled } from "../../modules/settings/settings.service.ts";
import { listSecurityGroups } from "../../modules/security-groups/security-groups.service.ts";
import { createDefaultRoom, deleteDefaultRoom, listDefaultRooms } from "../../modules/network-admin/default-rooms.service.ts";
import { ActionButton, Csrf, ErrorSummary, Field, Select, errorsOf, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { csrf, netPage, nidOf } from "./frame.tsx";

export function defaultRoomPages(ctx: AppContext): ConsoleRoute[] {
  const list = (c: Context<AppEnv>, errors: FieldErrors = {}, values: Record<string, string> = {}, status = 200) => {
    const nid = nidOf(c);
    const base = `/network/${nid}/default-rooms`;
    const groups = listSecurityGroups(ctx, nid);
    const rooms = listDefaultRooms(ctx, nid);
    return netPage(
      ctx,
      c,
      { title: "Default rooms", current: base, status },
      <>
        <p>The room bot keeps everyone in these rooms: new users join automatically and people who leave are added back. The bot is the only moderator.</p>
        {rooms.length ? (
          <table>
            <caption class="visually-hidden">Default rooms</caption>
            <thead><tr><th scope="col">Room</th><th scope="col">For</th><th scope="col">Members</th><th scope="col">Action</th></tr></thead>
            <tbody>
              {rooms.map((r) => (
                <tr>
                  <td>{r.title}</td>
                  <td>{r.securityGroupId ? `Security group ${groups.find((g) => g.id === r.securityGroupId)?.name ?? ""}` : "The whole network"}</td>
                  <td>{r.memberCount}</td>
                  <td><ActionButton action={`${base}/${r.id}/delete`} csrf={csrf(c)} label={`Delete ${r.title}`} danger /></td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No default rooms.</p>}
        <h2>Create a default room</h2>
        {isRoomBotEnabled(ctx) ? (
          <>
            <ErrorSummary errors={errors} labels={{ title: "Title", securityGroupId: "For" }} />
            <form method="post" action={base} novalidate>
              <Csrf token={csrf(c)} />
              <Field name="title" label="Title" value={values.title} error={errors.title} required maxlength={100} />
              <Select name="securityGroupId" label="For" options={[{ value: "", label: "The whole network" }, ...groups.map((g) => ({ value: g.id, label: `Security group ${g.name}` }))]} value={values.securityGroupId} error={errors.securityGroupId} />
              <button type="submit">Create room</button>
            </form>
          </>
        ) : (
          <p>Default rooms need the room bot, which a super administrator has not turned on.</p>
        )}
      </>,
    );
  };
  return [
    { method: "GET", path: "/network/:nid/default-rooms", permission: null, handler: (c) => list(c) },
    {
      method: "POST",
      path: "/network/:nid/default-rooms",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const values = { title: f.get("title"), securityGroupId: f.get("securityGroupId") };
        try {
          await createDefaultRoom(ctx, actorOf(c), nidOf(c), { title: values.title, securityGroupId: values.securityGroupId || null });
        } catch (e) {
          return list(c, errorsOf(e), values, (e as AppError).status);
        }
        return c.redirect(`/network/${nidOf(c)}/default-rooms?notice=room-created`, 303);
      },
    },
    {
      method: "POST",
      path: "/network/:nid/default-rooms/:id/delete",
      permission: null,
      handler: async (c) => {
        await deleteDefaultRoom(ctx, actorOf(c), nidOf(c), c.req.param("id")!);
        return c.redirect(`/network/${nidOf(c)}/default-rooms?notice=room-deleted`, 303);
      },
    },
  ];
}
