// Pages that only say something: a refusal or an error, a Tools entry with nothing behind it
// yet, the account-recovery pages while no mail can go out.
import type { Child } from "hono/jsx";
import { href, type Web } from "../web.js";

export function MessageView({ web, title, children, back = true }: { web: Web; title: string; children?: Child; back?: boolean }) {
  return (
    <section class="card">
      <h1>{title}</h1>
      <div>{children}</div>
      {back ? (
        <p>
          <a href={href(web, "/")}>Back to the start page</a>
        </p>
      ) : null}
    </section>
  );
}
