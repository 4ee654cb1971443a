// The super administrator console's sections, shown only when the role
// holds the permission to read them, and the notices shown after an action.
import type { NavItem } from "../layout.tsx";

const sections: (NavItem & { permission: string | null })[] = [
  { href: "/admin", label: "Overview", permission: null },
  { href: "/admin/networks", label: "Networks", permission: "networks.read" },
  { href: "/admin/administrators", label: "Administrators", permission: "admins.read" },
  { href: "/admin/roles", label: "Roles", permission: "roles.read" },
  { href: "/admin/lockout", label: "Lockout", permission: "lockout.read" },
  { href: "/admin/calls", label: "Calls", permission: "calling.read" },
  { href: "/admin/tokens", label: "API tokens", permission: "tokens.read" },
  { href: "/admin/settings", label: "Settings", permission: "settings.read" },
  { href: "/admin/appearance", label: "Appearance", permission: "appearance.write" },
  { href: "/admin/audit", label: "Audit log", permission: "audit.read" },
  { href: "/admin/crash-report", label: "Crash report", permission: "crashreport.read" },
];

export function superNav(permissions: Set<string>): NavItem[] {
  return sections.filter((s) => s.permission === null || permissions.has(s.permission)).map(({ href, label }) => ({ href, label }));
}

export const notices: Record<string, string> = {
  "password-changed": "Your password is changed.",
  "network-created": "The network is created.",
  "network-renamed": "The network is renamed.",
  "network-admins": "The network's administrators are saved.",
  "network-deleted": "The network is deleted.",
  "admin-created": "The administrator is created. They must choose a new password at first sign-in.",
  "admin-password": "The password is set; the administrator must change it at next sign-in.",
  "admin-role": "The role is changed.",
  "admin-deleted": "The administrator is deleted.",
  "role-created": "The role is created.",
  "role-saved": "The role is saved.",
  "role-deleted": "The role is deleted.",
  unlocked: "The administrator is unlocked.",
  "token-revoked": "The token is revoked. Requests with it are refused from now on.",
  "settings-saved": "The settings are saved.",
  "roombot-on": "The room bot is enabled.",
  "roombot-off": "The room bot is disabled.",
  "text-saved": "The sign-in text is saved.",
  "logo-saved": "The logo is saved.",
  "logo-removed": "The logo is removed.",
  "call-ended": "The call is ended for everyone in it.",
};
