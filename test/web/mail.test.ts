// The outbox's log line when mail cannot go out says why in words (errno.ts), against real
// SMTP servers that cannot be reached: one that is down (its port refuses) and one whose host
// name does not resolve; the SMTP URL's password never reaches the line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../../src/log.js";
import { Outbox, smtpMailer } from "../../src/web/mail.js";
import { startMailbox } from "./recovery-harness.js";

async function failedLine(smtpUrl: string): Promise<string> {
  const lines: string[] = [];
  const outbox = new Outbox(createLogger("info", new Writable({ write: (c, _e, cb) => (lines.push(...String(c).split("\n").filter(Boolean)), cb()) })));
  const mailer = smtpMailer(smtpUrl, "pkgate@example.com");
  assert.ok(outbox.post("password reset", { reqId: "r1" }, () => mailer.send({ to: "ada@example.com", subject: "s", text: "t" })));
  for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
    const line = lines.find((l) => l.includes("mail job failed"));
    if (line) return line;
  }
  assert.fail(`no failure logged: ${lines.join("\n")}`);
}

test("an SMTP server that is down: 'connection refused' and the code, without the URL's password", async () => {
  const mail = await startMailbox();
  const port = new URL(mail.url).port;
  await mail.stop();
  const line = failedLine(`smtp://mailer:hunter2-secret@127.0.0.1:${port}`);
  const logged = JSON.parse(await line) as { err: string; job: string; reqId: string };
  assert.equal(logged.job, "password reset");
  assert.equal(logged.reqId, "r1");
  assert.match(logged.err, new RegExp(`^connection refused: ESOCKET connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
  assert.doesNotMatch(await line, /hunter2|mailer:/);
});

test("an SMTP host name that does not resolve: 'host name not found'", async () => {
  const line = await failedLine("smtp://mailer:hunter2-secret@smtp.pkgate-test.invalid:587");
  assert.match((JSON.parse(line) as { err: string }).err, /^host name not found: EDNS /);
  assert.doesNotMatch(line, /hunter2/);
});
