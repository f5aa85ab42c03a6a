import type { ReactNode } from "react";
import type { Me } from "../../../src/server/contract";
import { Link, useLocation } from "../lib/router";
import { useStreamState } from "../live/event-stream";

/** Header with the navigation (admin pages only for admins), the live indicator and logout. */
export function Layout({ me, onLogout, children }: { me: Me; onLogout: () => void; children: ReactNode }) {
  const { path } = useLocation();
  const stream = useStreamState();
  const items: Array<[string, string]> = [
    ["/", "Overview"],
    ["/tasks", "Tasks"],
  ];
  if (me.role === "admin") items.push(["/queues", "Queues"], ["/schedules", "Schedules"], ["/nodes", "Nodes"]);
  const current = (href: string) => (href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`));
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand" aria-label="Tasklane overview">
          <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path d="M7 10h18M7 16h12M7 22h7" stroke="var(--bg)" strokeWidth="3" strokeLinecap="round" />
          </svg>
          Tasklane
        </Link>
        <nav aria-label="Main">
          <ul>
            {items.map(([href, label]) => (
              <li key={href}>
                <Link href={href} aria-current={current(href) ? "page" : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <span className={`live-dot ${stream}`} title={stream === "live" ? "Live updates on" : "Reconnecting to live updates…"}>
            <span className="sr-only">{stream === "live" ? "live" : "reconnecting"}</span>
          </span>
          {stream === "reconnecting" ? (
            <span className="small warn-text" role="status">
              reconnecting…
            </span>
          ) : null}
          <span className="user" data-testid="user">
            {me.name}
            {me.role === "admin" ? <span className="role">admin</span> : null}
          </span>
          <button type="button" className="btn small ghost" onClick={onLogout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
