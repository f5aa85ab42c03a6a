// A small HTTP load client, run as its own process so it does not share the server's CPU:
// `node bench/http-load-client.mjs URL TOKEN CLIENTS SECONDS BODY_JSON` → prints {"ok":n,"failed":m,"seconds":s}.
import http from "node:http";

const [url, token, clients, seconds, body] = process.argv.slice(2);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients) });
const payload = Buffer.from(body);
let ok = 0;
let failed = 0;
const deadline = Date.now() + Number(seconds) * 1000;

function post() {
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": payload.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 201) ok++;
          else failed++;
          resolve();
        });
      },
    );
    req.on("error", () => {
      failed++;
      resolve();
    });
    req.end(payload);
  });
}

const started = Date.now();
await Promise.all(
  Array.from({ length: Number(clients) }, async () => {
    while (Date.now() < deadline) await post();
  }),
);
process.stdout.write(JSON.stringify({ ok, failed, seconds: (Date.now() - started) / 1000 }) + "\n");
agent.destroy();
