// Starts fauxqs (SQS emulator, AWS JSON 1.0 protocol) on loopback only; its CLI binds 0.0.0.0.
// Usage: node fauxqs.mjs PORT    — prints "ready PORT" when listening, exits on SIGTERM/SIGINT.
import { pathToFileURL } from "node:url";
import path from "node:path";

const port = Number(process.argv[2] ?? 0);
const dist = path.join(path.dirname(new URL(import.meta.url).pathname), "node_modules/fauxqs/dist");
const { buildApp } = await import(pathToFileURL(path.join(dist, "app.js")).href);
const { S3Store } = await import(pathToFileURL(path.join(dist, "s3/s3Store.js")).href);

const app = buildApp({ logger: false, stores: { s3Store: new S3Store() } });
await app.listen({ port, host: "127.0.0.1" });
console.log(`ready ${app.server.address().port}`);

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
