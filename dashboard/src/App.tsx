import { useCallback, useEffect, useState } from "react";
import { Api, ApiError, setUnauthenticatedHandler } from "./api/client";
import { clearToken, getToken, setToken, takeTokenFromUrl } from "./api/session";
import type { Me } from "../../src/server/contract";
import { Layout } from "./components/Layout";
import { Loading } from "./components/States";
import { match, useLocation } from "./lib/router";
import { EventStreamProvider } from "./live/event-stream";
import { LoginPage } from "./pages/LoginPage";
import { NodesPage } from "./pages/NodesPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { OverviewPage } from "./pages/OverviewPage";
import { QueuesPage } from "./pages/QueuesPage";
import { SchedulesPage } from "./pages/SchedulesPage";
import { TaskDetailPage } from "./pages/TaskDetailPage";
import { TasksPage } from "./pages/TasksPage";

type Session = { state: "checking" } | { state: "out"; error?: string } | { state: "in"; me: Me };

/** Logs in (from the login URL's `?token=`, the stored token, or the form), then routes. */
export function App() {
  const [session, setSession] = useState<Session>({ state: "checking" });

  const login = useCallback(async (token: string): Promise<string | null> => {
    try {
      const me = await Api.me(token);
      setToken(token);
      setSession({ state: "in", me });
      return null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return "This token is unknown or was revoked.";
      return (error as Error).message;
    }
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => setSession({ state: "out", error: "Your session ended: the token was revoked. Log in again." }));
    const fromUrl = takeTokenFromUrl();
    const token = fromUrl ?? getToken();
    if (!token) {
      setSession({ state: "out" });
      return;
    }
    void login(token).then((error) => {
      if (error) {
        if (!fromUrl) clearToken();
        setSession({ state: "out", error: fromUrl ? `The login link did not work: ${error}` : error });
      }
    });
  }, [login]);

  const logout = useCallback(() => {
    clearToken();
    setSession({ state: "out" });
  }, []);

  if (session.state === "checking") return <Loading what="Signing in" />;
  if (session.state === "out") return <LoginPage onLogin={login} initialError={session.error} />;
  return (
    <EventStreamProvider key={session.me.name}>
      <Layout me={session.me} onLogout={logout}>
        <Routes me={session.me} />
      </Layout>
    </EventStreamProvider>
  );
}

function Routes({ me }: { me: Me }) {
  const { path } = useLocation();
  const admin = me.role === "admin";
  if (match("/", path)) return <OverviewPage me={me} />;
  if (match("/tasks", path)) return <TasksPage me={me} />;
  const detail = match("/tasks/:id", path);
  if (detail) return <TaskDetailPage id={detail.id!} />;
  // Admin pages do not exist for users: the same "not found" as any unknown address.
  if (admin && match("/queues", path)) return <QueuesPage />;
  if (admin && match("/schedules", path)) return <SchedulesPage />;
  if (admin && match("/nodes", path)) return <NodesPage />;
  return <NotFoundPage />;
}
