// How a group of pages registers its routes (routes/*.tsx): each area of the site owns one
// registration function, and index.ts calls them in turn, so the areas never edit one file.
import type { Context, MiddlewareHandler } from "hono";
import type { Web } from "./web.js";

export type Page = (c: Context, web: Web) => Response | Promise<Response>;

/** Add a route: method, path under BASE_PATH, its middleware chain, its handler. */
export type On = (method: "GET" | "POST" | "ALL", path: string, chain: MiddlewareHandler[], page: (c: Context) => Response | Promise<Response>) => void;

/** The middleware chains a page picks from. */
export interface Chains {
  /** anyone: security headers and the visitor (session → principal, or anonymous) */
  open: MiddlewareHandler[];
  /** signed in (else to the sign-in tab) */
  user: MiddlewareHandler[];
  /** the form guard (CSRF token and same-origin check): append to a chain for forms that change something */
  form: MiddlewareHandler;
  /** a Page bound to this site */
  run: (page: Page) => (c: Context) => Response | Promise<Response>;
}

/** One area's routes. */
export type Area = (on: On, chains: Chains, web: Web) => void;
