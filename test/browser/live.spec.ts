/**
 * The admin's way through the dashboard against a real `tasklane start`: log in with the
 * printed URL, watch a task appear, progress and finish without a reload, follow its log live,
 * cancel a running task from its page, and cancel several at once from the list.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, logIn, test, useTasklaneServer } from "./fixtures.js";
import { addSteps, api } from "./server.js";

const server = useTasklaneServer();

test("the login URL printed at the first start logs in, and the token leaves the address bar", async ({ page }) => {
  const s = server();
  expect(s.loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=tl_/);
  await page.goto(s.loginUrl);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByTestId("user")).toContainText("admin");
  expect(page.url()).toBe(`${s.url}/`);
  // A reload stays logged in (the token is kept in localStorage), and logout forgets it.
  await page.reload();
  await expect(page.getByTestId("user")).toContainText("admin");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByLabel("API token")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("API token")).toBeVisible();
  // The form logs in too; a wrong token is refused with a message.
  await page.getByLabel("API token").fill("tl_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("unknown or was revoked");
  await page.getByLabel("API token").fill(s.adminToken);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
});

test("a task added over the API appears in the list, progresses live and finishes without a reload", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  await page.getByRole("link", { name: "Tasks", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
  // Marks this document: a reload would lose it.
  await page.evaluate("window.__sameDocument = true");

  const task = await addSteps(s, s.adminToken, { steps: 16, stepMs: 300 }, { name: "live list task" });
  const row = page.locator(`tr[data-task-id="${task.id}"]`);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute("data-status", "running");

  // The progress bar moves while the task runs: two different values seen before the end.
  const progress = row.getByRole("progressbar");
  const seen = new Set<number>();
  await expect
    .poll(async () => {
      const now = Number(await progress.getAttribute("aria-valuenow"));
      if (now > 0 && now < 16) seen.add(now);
      return seen.size;
    }, { intervals: [100] })
    .toBeGreaterThanOrEqual(2);

  await expect(row).toHaveAttribute("data-status", "succeeded", { timeout: 20_000 });
  await expect(progress).toHaveAttribute("aria-valuenow", "16");
  expect(await page.evaluate("window.__sameDocument")).toBe(true);
});

test("the detail page shows progress and log lines arriving live, then the result", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  const task = await addSteps(s, s.adminToken, { steps: 24, stepMs: 250 }, { name: "live detail task" });
  await page.goto(`${s.url}/tasks/${task.id}`);
  await expect(page.getByRole("heading", { name: "live detail task" })).toBeVisible();

  const lines = page.getByTestId("log-line");
  await expect(lines.first()).toBeVisible();
  const before = await lines.count();
  // New lines arrive on their own while the task runs.
  await expect.poll(() => lines.count()).toBeGreaterThan(before);
  await expect(page.getByTestId("log-state")).toHaveText("● live");
  await expect(page.getByTestId("progress-card").getByRole("progressbar")).not.toHaveAttribute("aria-valuenow", "0");

  await expect(page.getByTestId("log-box")).toContainText("all steps done", { timeout: 20_000 });
  await expect(page.getByTestId("log-state")).toHaveText("complete");
  await expect(page.locator(".detail-head").getByText("succeeded")).toBeVisible();
  await expect(page.getByLabel("Result")).toContainText('"checksum": 300');
  // Levels are kept and coloured per line.
  await expect(page.locator(".log-line.level-warn").first()).toBeVisible();
  await expect(page.locator(".log-line.level-debug").first()).toBeVisible();
  // One run, succeeded, on this server's node.
  await expect(page.locator("tr[data-run='1']")).toContainText("succeeded");
});

test("a running task is cancelled from its page", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  const task = await addSteps(s, s.adminToken, { steps: 1000, stepMs: 100 }, { name: "task to cancel" });
  await page.goto(`${s.url}/tasks/${task.id}`);
  const head = page.locator(".detail-head");
  await expect(head.getByText("running")).toBeVisible();
  await expect(page.getByTestId("log-line").first()).toBeVisible();

  await head.getByRole("button", { name: "Cancel" }).click();
  await expect(head.getByText("cancelled", { exact: true })).toBeVisible();
  await expect(head.getByRole("button", { name: "Retry" })).toBeVisible();
  await expect(page.locator("tr[data-run='1']")).toContainText("cancelled");
  expect((await api(s, s.adminToken, "GET", `/api/tasks/${task.id}`)).status).toBe("cancelled");
});

test("several tasks are cancelled at once from the list, and retried", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  const tasks = [];
  for (let i = 1; i <= 3; i++) tasks.push(await addSteps(s, s.adminToken, { steps: 1000, stepMs: 100 }, { name: `bulk ${i}`, key: `bulk-${i}` }));
  await page.goto(`${s.url}/tasks?q=bulk`);
  for (const t of tasks) {
    const row = page.locator(`tr[data-task-id="${t.id}"]`);
    await expect(row).toHaveAttribute("data-status", "running");
    await row.getByRole("checkbox").check();
  }
  await page.getByRole("button", { name: "Cancel selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "3 cancelled" })).toBeVisible();
  for (const t of tasks) await expect(page.locator(`tr[data-task-id="${t.id}"]`)).toHaveAttribute("data-status", "cancelled");

  await page.getByRole("checkbox", { name: "Select all tasks on this page" }).check();
  await page.getByRole("button", { name: "Retry selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "3 retried" })).toBeVisible();
  for (const t of tasks) await expect(page.locator(`tr[data-task-id="${t.id}"]`)).toHaveAttribute("data-status", /queued|running/);
  for (const t of tasks) await api(s, s.adminToken, "POST", `/api/tasks/${t.id}/cancel`);
});

test("filters live in the URL: a shared link opens the same view", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  await page.goto(`${s.url}/tasks`);
  await page.getByRole("navigation", { name: "Status" }).getByRole("link", { name: /^cancelled/ }).click();
  await page.getByLabel("Search").fill("bulk 2");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/status=cancelled/);
  await expect(page).toHaveURL(/q=bulk\+2/);
  const shared = page.url();
  const rows = page.locator("tr[data-task-id]");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("bulk 2");

  const other = await page.context().newPage();
  await other.goto(shared);
  await expect(other.locator("tr[data-task-id]")).toHaveCount(1);
  await expect(other.getByLabel("Search")).toHaveValue("bulk 2");
  await other.close();
});

test("the pages work from the keyboard alone", async ({ page }) => {
  const s = server();
  await addSteps(s, s.adminToken, { steps: 2, stepMs: 10 }, { name: "keyboard task" });
  await logIn(page, s.loginUrl);
  // The first Tab reaches the skip link, which moves the focus to the content.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
  const row = page.locator("tr[data-task-id]").first();
  await row.getByRole("checkbox").focus();
  await page.keyboard.press("Space");
  await expect(page.getByText("1 selected")).toBeVisible();
  await expect(page.getByRole("button", { name: "Cancel selected" })).toBeEnabled();
  await page.keyboard.press("Tab");
  await expect(row.getByRole("link")).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Log" })).toBeVisible();
});

test("a finished task is retried and deleted from its page; a running one offers no Delete", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  const failing = await addSteps(s, s.adminToken, { steps: 3, stepMs: 20, failAt: 2 }, { name: "task to delete" });
  await page.goto(`${s.url}/tasks/${failing.id}`);
  const head = page.locator(".detail-head");
  await expect(head.getByText("failed", { exact: true })).toBeVisible();
  await expect(page.locator(".error-card")).toContainText("step 2 failed");
  await expect(page.locator("tr[data-run='1']")).toContainText("failed");

  // Retry: a second run, which fails the same way.
  await head.getByRole("button", { name: "Retry" }).click();
  await expect(page.locator("tr[data-run='2']")).toContainText("failed");
  await expect(page.getByRole("button", { name: "Run 2" })).toBeVisible();

  page.once("dialog", (dialog) => void dialog.accept());
  await head.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
  await expect(page.locator(`tr[data-task-id="${failing.id}"]`)).toHaveCount(0);
  const res = await fetch(`${s.url}/api/tasks/${failing.id}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
  expect(res.status).toBe(404);

  const running = await addSteps(s, s.adminToken, { steps: 1000, stepMs: 100 }, { name: "running, not deletable" });
  await page.goto(`${s.url}/tasks/${running.id}`);
  await expect(head.getByText("running", { exact: true })).toBeVisible();
  await expect(head.getByRole("button", { name: "Cancel" })).toBeVisible();
  await expect(head.getByRole("button", { name: "Delete" })).toHaveCount(0);
  await api(s, s.adminToken, "POST", `/api/tasks/${running.id}/cancel`);
  await expect(head.getByText("cancelled", { exact: true })).toBeVisible();
});

test("a change made before the event stream opened still shows: the detail page re-reads when it opens", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  // The stream opens 3 s late; the task fails within about a second of the page's first read.
  await page.route("**/api/events*", async (route) => {
    await new Promise((r) => setTimeout(r, 3000));
    await route.continue();
  });
  const task = await addSteps(s, s.adminToken, { steps: 4, stepMs: 250, failAt: 4 }, { name: "fails before the stream opens" });
  await page.goto(`${s.url}/tasks/${task.id}`);
  await expect(page.locator(".detail-head").getByText("failed", { exact: true })).toBeVisible();
  await expect(page.locator("tr[data-run='1']")).toContainText("failed");
});

test("a task's follow-ups and a follow-up's parent are shown and linked", async ({ page }) => {
  const s = server();
  const script = fileURLToPath(new URL("./add-chain.mjs", import.meta.url));
  const id = execFileSync(process.execPath, [script, s.db], { cwd: s.dir, encoding: "utf8" }).trim();
  await logIn(page, s.loginUrl);
  await page.goto(`${s.url}/tasks/${id}`);
  await expect(page.locator(".detail-head").getByText("succeeded", { exact: true })).toBeVisible();
  const mail = page.locator(`[data-follow-up="${id}.1"]`);
  await expect(mail.getByRole("link", { name: "Mail the export" })).toBeVisible();
  await expect(mail.locator(`[data-follow-up="${id}.1.1"]`)).toContainText("Delete the file");
  await expect(page.locator(`[data-follow-up="${id}.2"]`)).toContainText("will not run");
  await expect(page.locator(`[data-follow-up="${id}.2"]`).getByRole("link")).toHaveCount(0);

  await mail.getByRole("link", { name: "Mail the export" }).click();
  await expect(page.getByRole("heading", { name: "Mail the export" })).toBeVisible();
  await expect(page.getByRole("link", { name: id })).toBeVisible();
  await expect(page.locator(".detail-head").getByText("succeeded", { exact: true })).toBeVisible();
  await page.locator(`[data-follow-up="${id}.1.1"]`).getByRole("link", { name: "Delete the file" }).click();
  await expect(page.getByRole("heading", { name: "Delete the file" })).toBeVisible();
  await expect(page.getByRole("link", { name: `${id}.1` })).toBeVisible();
});
