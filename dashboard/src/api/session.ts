/**
 * The login token. It lives in localStorage so a reload or a second tab stays logged in; the
 * server's Content-Security-Policy forbids any script but the page's own from reading it.
 */
const KEY = "tasklane.token";

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  localStorage.setItem(KEY, token);
}

export function clearToken(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing stored either
  }
}

/**
 * The `?token=` of the login URL printed by `tasklane start`, removed from the address bar at
 * once so it does not stay in the history, bookmarks or a shared screenshot.
 */
export function takeTokenFromUrl(): string | null {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (!token) return null;
  url.searchParams.delete("token");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  return token;
}
