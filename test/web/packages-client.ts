// The web tests' HTTP client lives in client.ts; this name stays only for
// test/bench/web-packages.ts, which imports it from here.
export { BROWSER_ACCEPT, WebClient } from "./client.js";
