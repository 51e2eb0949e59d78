// Which address is the client: X-Forwarded-For is believed only from trusted proxies, and
// only as far as the chain of trusted proxies goes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { clientOf, isTrustedProxy } from "../../src/http/proxy.js";

const trusted = ["10.0.0.0/8", "127.0.0.1", "::1"];

describe("clientOf", () => {
  const cases: [string, string | undefined, string][] = [
    ["127.0.0.1", undefined, "127.0.0.1"],
    ["203.0.113.9", "198.51.100.1", "203.0.113.9"], // untrusted peer: header ignored
    ["127.0.0.1", "198.51.100.1", "198.51.100.1"],
    ["::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1"],
    ["127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"], // a forged left entry is not believed
    ["127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"], // through two trusted proxies
    ["127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3"], // everyone trusted: the leftmost
    ["127.0.0.1", "not-an-ip", "127.0.0.1"],
    ["::1", "2001:db8::1", "2001:db8::1"],
    // a proxy that writes the client's port (Azure's) or brackets: still that client, not the proxy
    ["127.0.0.1", "198.51.100.1:51234", "198.51.100.1"],
    ["127.0.0.1", "[2001:db8::1]:443", "2001:db8::1"],
    ["127.0.0.1", "[2001:db8::1]", "2001:db8::1"],
    ["127.0.0.1", "6.6.6.6:1, 198.51.100.1:2, 10.1.2.3:3", "198.51.100.1"],
    ["127.0.0.1", "[not-an-ip]:80", "127.0.0.1"],
    ["127.0.0.1", "198.51.100.1:port", "127.0.0.1"],
  ];
  for (const [peer, xff, want] of cases) test(`${peer} / ${xff}`, () => assert.equal(clientOf(peer, xff, trusted), want));
  test("nothing is trusted by default", () => assert.equal(isTrustedProxy("127.0.0.1", []), false));
});
