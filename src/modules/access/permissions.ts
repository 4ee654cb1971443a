// The named permissions every protected endpoint checks, and the built-in
// role that holds all of them. Roles are sets of these names.
export const permissions = {
  "networks.read": "See networks and their administrators",
  "networks.write": "Create, rename and delete networks; assign their administrators",
  "admins.read": "See administrators",
  "admins.write": "Create and delete administrators, set their passwords and roles",
  "roles.read": "See roles",
  "roles.write": "Create, change and delete roles",
  "tokens.read": "See API access tokens",
  "tokens.write": "Create and revoke API access tokens",
  "settings.read": "See deployment settings",
  "settings.write": "Change deployment settings",
  "roomsbot.write": "Turn the room bot on or off",
  "appearance.write": "Change the sign-in logo and text",
  "lockout.read": "See locked administrators",
  "lockout.write": "Unlock administrators",
  "audit.read": "See and export the audit log",
  "crashreport.read": "Download the crash report",
  "calling.read": "See the calling node's health, active calls and participants",
  "calling.write": "End active calls",
} as const;

export type Permission = keyof typeof permissions;
export const allPermissions = Object.keys(permissions) as Permission[];

export function isPermission(p: string): p is Permission {
  return Object.hasOwn(permissions, p);
}

export const SUPER_ROLE_ID = "super-administrator";
export const SUPER_ROLE_NAME = "Super administrator";
