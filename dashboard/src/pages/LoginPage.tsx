import { useState, type FormEvent } from "react";

/** Token login. The URL printed by the first `tasklane start` logs in without this form. */
export function LoginPage({ onLogin, initialError }: { onLogin: (token: string) => Promise<string | null>; initialError?: string }) {
  const [token, setTokenText] = useState("");
  const [error, setError] = useState<string | null>(initialError ?? null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError("Paste an API token.");
      return;
    }
    setBusy(true);
    const failure = await onLogin(value);
    setBusy(false);
    if (failure) setError(failure);
  }

  return (
    <main className="login" id="main">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Tasklane</h1>
        <p className="muted">
          Log in with an API token: open the login URL printed by the first <code>tasklane start</code>, or create a token with{" "}
          <code>tasklane user add NAME</code>.
        </p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          placeholder="tl_…"
          value={token}
          onChange={(e) => setTokenText(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "login-error" : undefined}
          autoFocus
        />
        {error ? (
          <p id="login-error" className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? "Checking…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
