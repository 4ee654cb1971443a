// The console page frame shared by the super and network administrator
// consoles: skip link, header with the signed-in administrator and sign-out,
// a navigation list given by the caller, and one main landmark with the h1.
import type { Child } from "hono/jsx";
import { Csrf } from "./components.tsx";

export interface NavItem {
  href: string;
  label: string;
}

export interface LayoutProps {
  title: string;
  /** Product area shown in the header, e.g. "Super administrator". */
  area?: string;
  nav?: NavItem[];
  /** href of the nav item to mark as the current page. */
  current?: string;
  user?: { name: string; username: string; csrf: string } | null;
  /** Reload the page every n seconds (progress pages; CSP forbids scripts). */
  refreshSeconds?: number | undefined;
  children?: Child;
}

export function Layout(p: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {p.refreshSeconds ? <meta http-equiv="refresh" content={String(p.refreshSeconds)} /> : null}
        <title>{p.title} · Outpost</title>
        <link rel="stylesheet" href="/console/console.css" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <p class="brand">
            Outpost{p.area ? <span class="area"> · {p.area}</span> : null}
          </p>
          {p.user ? (
            <div class="who">
              <span>
                Signed in as <strong>{p.user.name}</strong> ({p.user.username})
              </span>
              <a href="/account/password">Password</a>
              <a href="/account/two-factor">Two-factor sign-in</a>
              <form method="post" action="/sign-out" class="inline">
                <Csrf token={p.user.csrf} />
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </div>
          ) : null}
        </header>
        <div class={p.nav?.length ? "frame" : "frame single"}>
          {p.nav?.length ? (
            <nav class="side" aria-label="Console sections">
              <ul>
                {p.nav.map((n) => (
                  <li>
                    <a href={n.href} aria-current={n.href === p.current ? "page" : undefined}>
                      {n.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
          <main id="main" tabindex={-1}>
            <h1>{p.title}</h1>
            {p.children}
          </main>
        </div>
      </body>
    </html>
  );
}

/** Serialises a page with its doctype. */
export function page(node: unknown): string {
  return "<!doctype html>" + String(node);
}
