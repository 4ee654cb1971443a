// Console page for calling: the node's health and the active calls with their
// participants, and ending a call (same service as the REST API).
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { callingStatus, endCall } from "../../calling/calling.service.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppEnv } from "../../http/types.ts";
import { ActionButton, Pager } from "../components.tsx";
import type { ConsoleRoute } from "../console-auth.tsx";
import { adminPage, can, csrf } from "./frame.tsx";

const PAGE = 25;

export function callPages(ctx: AppContext): ConsoleRoute[] {
  const calls = async (c: Context<AppEnv>) => {
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const s = await callingStatus(ctx, { limit: PAGE, offset });
    const health = s.mode === "off" ? "Calling is off on this server." : s.node.reachable ? `The calling node is up (${s.mode}).` : `The calling node is not reachable (${s.node.state}).`;
    return adminPage(
      c,
      { title: "Calls", current: "/admin/calls" },
      <>
        <p role="status">{health}</p>
        {s.mode !== "off" ? (
          <p>
            {s.totals.calls} active call(s), {s.totals.participants} participant(s); the node restarted {s.node.restarts} time(s) since this server started.
          </p>
        ) : null}
        {s.calls.length > 0 ? (
          <table>
            <caption class="visually-hidden">Active calls</caption>
            <thead>
              <tr>
                <th scope="col">Call</th>
                <th scope="col">Kind</th>
                <th scope="col">Started</th>
                <th scope="col">Participants</th>
                <th scope="col">Forwarded packets</th>
                <th scope="col">
                  <span class="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {s.calls.map((call) => (
                <tr>
                  <td>
                    <code>{call.callId}</code>
                  </td>
                  <td>{call.mode}</td>
                  <td>{call.startedAt.replace("T", " ").slice(0, 19)} UTC</td>
                  <td>{call.participants.length}</td>
                  <td>{call.forwardedPackets}</td>
                  <td>{can(c, "calling.write") ? <ActionButton action={`/admin/calls/${encodeURIComponent(call.callId)}/end`} csrf={csrf(c)} label={`End call ${call.callId}`} danger /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : s.mode !== "off" ? (
          <p>No call is in progress.</p>
        ) : null}
        <Pager base="/admin/calls" query={{}} offset={offset} limit={PAGE} total={s.totals.calls} />
      </>,
    );
  };

  return [
    { method: "GET", path: "/admin/calls", permission: "calling.read", handler: calls },
    {
      method: "POST",
      path: "/admin/calls/:id/end",
      permission: "calling.write",
      handler: async (c) => {
        await endCall(ctx, actorOf(c), c.req.param("id")!);
        return c.redirect("/admin/calls?notice=call-ended", 303);
      },
    },
  ];
}
