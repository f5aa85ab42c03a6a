import { test, type Page } from "@playwright/test";
import { startServer, type TasklaneServer } from "./server.js";

/**
 * One `tasklane start` for the tests of a file (started before them, stopped after them), so a
 * file's expectations never depend on what another file added. Returns a getter because the
 * server exists only once `beforeAll` has run.
 */
export function useTasklaneServer(): () => TasklaneServer {
  let server: TasklaneServer | null = null;
  test.beforeAll(async () => {
    server = await startServer();
  });
  test.afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error("the Tasklane server is not started yet");
    return server;
  };
}

/** Opens the login URL the server printed; the page strips the token and shows the overview. */
export async function logIn(page: Page, loginUrl: string): Promise<void> {
  await page.goto(loginUrl);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}
