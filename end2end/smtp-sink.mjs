// A mail server for the browser tests, started by playwright.config.ts: the
// app sends every email to it over real SMTP (plain, no auth, as a local
// relay), and it writes each message as an .eml file into SMTP_SINK_DIR,
// where the specs read them (fixtures.ts). No dependencies: Node's `net`.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const port = Number(process.env.SMTP_SINK_PORT);
const dir = process.env.SMTP_SINK_DIR;
if (!port || !dir) {
  console.error("SMTP_SINK_PORT and SMTP_SINK_DIR are required");
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
let sequence = 0;

function store(data) {
  // Sortable names (newest last); written whole, then renamed, so a reader
  // never sees half a message.
  const name = `${String(Date.now()).padStart(15, "0")}-${String(sequence++).padStart(6, "0")}-smtp.eml`;
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.part`, Buffer.from(data, "latin1"));
  fs.renameSync(`${file}.part`, file);
}

net
  .createServer((socket) => {
    socket.setEncoding("latin1"); // bytes as they came (8BITMIME bodies included)
    let pending = "";
    let inData = false;
    const reply = (line) => socket.write(`${line}\r\n`);
    reply("220 paylinks-e2e-sink ESMTP");
    socket.on("data", (chunk) => {
      pending += chunk;
      for (;;) {
        if (inData) {
          const end = pending.startsWith(".\r\n") ? 0 : pending.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const body = end === 0 ? "" : pending.slice(0, end + 2);
          pending = pending.slice(end === 0 ? 3 : end + 5);
          inData = false;
          store(body.replace(/^\.\./gm, "."));
          reply("250 2.0.0 stored");
          continue;
        }
        const at = pending.indexOf("\r\n");
        if (at < 0) return;
        const line = pending.slice(0, at);
        pending = pending.slice(at + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") reply("250-paylinks-e2e-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760");
        else if (verb === "HELO" || verb === "MAIL" || verb === "RCPT" || verb === "RSET" || verb === "NOOP") reply("250 2.0.0 ok");
        else if (verb === "DATA") {
          inData = true;
          reply("354 end with <CRLF>.<CRLF>");
        } else if (verb === "QUIT") {
          reply("221 2.0.0 bye");
          socket.end();
          return;
        } else reply("502 5.5.2 not implemented");
      }
    });
    socket.on("error", () => {});
  })
  .listen(port, "127.0.0.1", () => console.log(`smtp sink on 127.0.0.1:${port}, writing to ${dir}`));
