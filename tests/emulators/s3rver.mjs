// Starts s3rver (S3 emulator) on loopback, with one fix. s3rver 3.7.1 answers a PUT once the
// body has passed through its MD5 hash, before its file is written (and, for a body it holds in
// memory, right after starting the write), so a GET soon after can find the object shorter or
// empty — seen on a loaded machine: a 70,000-byte PUT read back as 0 bytes. S3 itself reads its
// writes; here a PUT is answered once its file is complete.
// Usage: node s3rver.mjs DATA_DIR — prints "S3rver listening on ADDRESS:PORT" when listening.
import { createRequire } from "node:module";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

const require = createRequire(import.meta.url);
const S3rver = require("s3rver");
const FilesystemStore = require("s3rver/lib/stores/filesystem");

FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, "object");
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  const md5 = crypto.createHash("md5");
  let size = 0;
  if (Buffer.isBuffer(object.content)) {
    md5.update(object.content);
    size = object.content.length;
    await fs.promises.writeFile(objectPath, object.content);
  } else {
    const hash = new Transform({
      transform(chunk, encoding, callback) {
        md5.update(chunk, encoding);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(object.content, hash, fs.createWriteStream(objectPath));
  }
  const digest = md5.digest("hex");
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

const directory = process.argv[2];
if (!directory) {
  console.error("usage: node s3rver.mjs DATA_DIR");
  process.exit(2);
}
fs.mkdirSync(directory, { recursive: true });
const { address, port } = await new S3rver({
  directory,
  address: "127.0.0.1",
  port: 0,
  silent: true,
}).run();
console.log("S3rver listening on %s:%d", address, port);
