// Pages out: a view in the frame (layout.tsx) as an HTML response, and refusals and failures
// as HTML pages, answered as the rest of the gateway answers them (http/error-response.ts
// decides the status and the message; this only puts them on a page).
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { ANONYMOUS } from "../access/model.js";
import { errorResponse } from "../http/error-response.js";
import { Layout, type Frame } from "./views/layout.js";
import { MessageView } from "./views/message.js";
import type { Web } from "./web.js";

/** The frame of a page: the signed-in user's accounts for the Profile menu. */
export async function frameFor(c: Context, web: Web, title: string, opts: { active?: string; path?: string } = {}): Promise<Frame> {
  const visitor = c.get("visitor");
  const user = visitor.user;
  const accounts = user ? [{ name: user.name, kind: "user" as const }, ...(await web.directory.administeredBy(user.name)).map((o) => ({ name: o.name, kind: "org" as const }))] : undefined;
  return { web, visitor, title, accounts, active: opts.active, path: opts.path ?? c.req.path };
}

/** The page: `body` in the frame. */
export function render(c: Context, frame: Frame, body: Child, status = 200): Response {
  const html = (<Layout frame={frame}>{body}</Layout>).toString();
  if (typeof html !== "string") throw new Error("a page component was asynchronous");
  return c.html(`<!doctype html>\n${html}`, status as 200);
}

const TITLES: Record<number, string> = {
  400: "That did not work",
  403: "Not allowed",
  404: "Not found",
  409: "Already taken",
  413: "Too large",
  429: "Too many attempts",
  503: "Unavailable for a moment",
};

/** A refusal or a failure as a page, with the status and the message (and headers such as
 * Retry-After) the gateway's one error answer gives it. */
export async function errorPage(err: unknown, c: Context, web: Web): Promise<Response> {
  const answer = errorResponse(err, c, web.deps.logger, web.deps.metrics);
  let message = "Something went wrong on our side. Try again in a moment.";
  try {
    const body = (await answer.clone().json()) as { message?: unknown };
    if (typeof body.message === "string" && answer.status !== 500) message = body.message;
  } catch {
    // no body (HEAD)
  }
  const title = TITLES[answer.status] ?? (answer.status >= 500 ? "Something went wrong" : "That did not work");
  // a failure before the visitor was known (the keys could not be read) gets a bare frame
  const visitor = c.get("visitor") ?? NOBODY;
  const frame = c.get("visitor") ? await frameFor(c, web, title).catch(() => ({ web, visitor, title })) : { web, visitor, title };
  const res = render(c, frame, <MessageView web={web} title={title}>{<p>{sentence(message)}</p>}</MessageView>, answer.status);
  // the challenge makes browsers prompt for a password: the pages sign in with a form
  answer.headers.forEach((value, name) => {
    if (name !== "content-type" && name !== "content-length" && name !== "www-authenticate") res.headers.set(name, value);
  });
  return res;
}

const NOBODY = { principal: ANONYMOUS, user: null, sessionId: null, binding: "", formToken: "", ended: false };

/** A refusal written for a terminal, ended as a sentence on a page (never capitalized: it
 * may start with a user's name). */
export function sentence(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
