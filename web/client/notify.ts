// Notifications of new messages while Outpost is in the background. The user switches them
// on (the browser asks for permission); whether they show the message itself or only who it
// is from is the security group's decision (previewNotifications).
import { signal } from "@preact/signals";

const PREF = "outpost.notifications";
const supported = () => typeof Notification !== "undefined";

export const notificationsOn = signal(supported() && localStorage.getItem(PREF) === "on" && Notification.permission === "granted");

/** Asks the browser for permission; returns why not when they cannot be switched on. */
export async function enableNotifications(): Promise<string | null> {
  if (!supported()) return "This browser does not show notifications.";
  const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
  if (permission !== "granted") return "The browser did not allow notifications for Outpost. Allow them in the site settings, then try again.";
  localStorage.setItem(PREF, "on");
  notificationsOn.value = true;
  return null;
}

export function disableNotifications() {
  localStorage.removeItem(PREF);
  notificationsOn.value = false;
}

/** Shows a notification when the app is not on screen (one per conversation: a newer one replaces it). */
export async function notify(title: string, body: string, conversationId: string): Promise<void> {
  if (!notificationsOn.value || document.visibilityState === "visible" || Notification.permission !== "granted") return;
  const options = { body, tag: conversationId, data: { conversationId }, icon: "/app-icon.svg" };
  // Through the service worker where there is one: mobile browsers only show notifications that way.
  const registration = await navigator.serviceWorker?.getRegistration().catch(() => undefined);
  if (registration) await registration.showNotification(title, options);
  else new Notification(title, options);
}
