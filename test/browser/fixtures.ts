import { expect, test as base, type Page } from "@playwright/test";
import { startServer, type TasklaneServer } from "./server.js";

/**
 * Playwright's `test`, whose `page` fails the test on an uncaught error in the page or a
 * Content-Security-Policy violation (either would break the dashboard for users silently).
 * Failed requests are not errors here: tests provoke 401s and 404s on purpose.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
    await use(page);
    expect(problems, "errors in the page").toEqual([]);
  },
});
export { expect };

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
