/**
 * Adds a task with a follow-up chain through the library (the HTTP API takes no `then`):
 * "Export" → then "Mail the export" → then "Delete the file", and "Alert on-call" on failure.
 *
 *   node test/browser/add-chain.mjs sqlite:/tmp/x.db     prints the first task's id
 */
import { Tasklane } from "../../dist/index.js";
import steps from "./tasks/steps.mjs";

const lane = await Tasklane.open({ db: process.argv[2], tasks: [steps] });
const task = await lane.add("steps", { steps: 3, stepMs: 50 }, {
  name: "Export",
  owner: "admin",
  then: [
    {
      type: "steps",
      params: { steps: 2, stepMs: 20 },
      options: { name: "Mail the export", then: [{ type: "steps", params: { steps: 1, stepMs: 10 }, options: { name: "Delete the file" } }] },
    },
  ],
  onFailure: [{ type: "steps", params: { steps: 1, stepMs: 10 }, options: { name: "Alert on-call" } }],
});
await lane.close();
console.log(task.id);
