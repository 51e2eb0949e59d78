// The organization pages over HTTP, form by form and rule by rule: each change is the API's
// own operation, so the page refuses what the API refuses, with the same words and status
// (the name rules, a taken name, a store folder with content, the last admin, a user who
// does not exist); a member sees their own groups and no form, and is refused a change (403);
// anyone else gets exactly what a missing organization gets; every form is refused without
// its token or from another origin; nobody signed in is sent to sign in.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { apiToken, startWebStack, textOf, WebClient } from "./client.js";

const PASSWORD = "a long password";
const ORG = "olga-lab";

describe("the organization pages over HTTP", () => {
  let s: Stack;
  let olga: WebClient;
  let pete: WebClient;
  let mona: WebClient;
  let nick: WebClient;
  /** olga's API token (all scopes), to ask the API the same questions. */
  let olgaToken = "";

  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${s.url}/api${path}`, { method, headers: { authorization: `Bearer ${olgaToken}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const org = () => s.rt.catalog.getAccount(ORG);
  /** A form posted from the Organizations page (its form token, our origin). */
  const post = (who: WebClient, path: string, fields: Record<string, string>, opts: { token?: string; origin?: string } = {}) => who.post(path, fields, { from: "/organizations", ...opts });

  before(async () => {
    s = await startWebStack({ users: ["olga", "pete", "mona", "nick"], password: PASSWORD });
    olgaToken = await apiToken(s.url, "olga", PASSWORD);
    const signIn = (n: string) => new WebClient(s.url).signIn(n, PASSWORD);
    [olga, pete, mona, nick] = [await signIn("olga"), await signIn("pete"), await signIn("mona"), await signIn("nick")];
  });
  after(() => s?.stop());

  test("create an organization: its creator is its admin, and the Profile menu offers it", async () => {
    const empty = await olga.page("/organizations");
    assert.equal(empty.status, 200);
    assert.match(textOf(empty.html), /You are in no organization yet/);
    const res = await post(olga, "/organizations", { name: ORG });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), `/organizations/${ORG}?done=created`);
    assert.deepEqual((await org())?.admins, ["olga"]);
    const page = await olga.page(`/organizations/${ORG}?done=created`);
    assert.equal(page.status, 200);
    assert.match(textOf(page.html), /The organization is created, with you as its admin/);
    assert.match(page.html, /<span>olga-lab<\/span><span class="kind">organization<\/span>/, "the Profile menu offers it");
    assert.match(textOf((await olga.page("/organizations")).html), /olga-lab admin/);
  });

  test("the page refuses a name as the API does: the same status and words", async () => {
    // a folder of the store with content and no account is adopted by a server admin only
    await s.rt.store.put("legacy/noarch/repodata.json", Buffer.from('{"packages":{}}'));
    const cases: [string, string, number][] = [
      ["not a name", "Bad Name", 400],
      ["a reserved name", "organizations", 400],
      ["an organization's name", ORG, 409],
      ["a user's name", "pete", 409],
      ["a store folder with content", "legacy", 409],
    ];
    for (const [what, name, status] of cases) {
      const fromApi = await api("POST", "/orgs", { name });
      assert.equal(fromApi.status, status, `API: ${what}`);
      const { message } = (await fromApi.json()) as { message: string };
      const res = await post(olga, "/organizations", { name });
      assert.equal(res.status, status, `page: ${what}`);
      const html = await res.text();
      assert.ok(textOf(html).includes(message.replace(/\.$/, "")), `page: ${what} says "${message}"`);
      assert.match(html, new RegExp(`id="org-name" name="name" type="text"[^>]* value="${name.replace(/ /g, " ")}"`), `page: ${what} keeps what was typed`);
    }
    assert.equal(await s.rt.catalog.getAccount("legacy"), null);
  });

  test("admins: add one, the last admin cannot leave, an admin may remove themselves", async () => {
    // alone, olga cannot leave: the API's 409, with its words, on the page
    const last = await post(olga, `/organizations/${ORG}/admins/remove`, { user: "olga" });
    assert.equal(last.status, 409);
    assert.match(textOf(await last.text()), /olga is the last admin of olga-lab; add another admin first/);
    const viaApi = await api("DELETE", `/orgs/${ORG}/admins/olga`);
    assert.equal(viaApi.status, 409);
    // a user who does not exist: the API's 404, said on the page
    const nobody = await post(olga, `/organizations/${ORG}/admins`, { user: "no-such-user" });
    assert.equal(nobody.status, 404);
    assert.match(textOf(await nobody.text()), /no such user: no-such-user/);
    const added = await post(olga, `/organizations/${ORG}/admins`, { user: "pete" });
    assert.equal(added.status, 303);
    assert.equal(added.headers.get("location"), `/organizations/${ORG}?done=admin-added&user=pete`);
    assert.deepEqual((await org())?.admins, ["olga", "pete"]);
    // with two, olga leaves: she goes to Organizations, and may not see the organization's
    // page any more (its channel is public: authorize() says so rather than hide it)
    const left = await post(olga, `/organizations/${ORG}/admins/remove`, { user: "olga" });
    assert.equal(left.status, 303);
    assert.equal(left.headers.get("location"), `/organizations?left=${ORG}`);
    assert.match(textOf((await olga.page(`/organizations?left=${ORG}`)).html), /You are no longer an admin of olga-lab/);
    assert.deepEqual((await org())?.admins, ["pete"]);
    const outside = await olga.page(`/organizations/${ORG}`);
    assert.equal(outside.status, 403);
    assert.match(textOf(outside.html), /olga is not a member of olga-lab/);
    // pete brings her back
    assert.equal((await post(pete, `/organizations/${ORG}/admins`, { user: "olga" })).status, 303);
    assert.deepEqual((await org())?.admins, ["pete", "olga"]);
    assert.equal((await olga.get(`/organizations/${ORG}`)).status, 200);
  });

  test("groups: create one with read on one package, add a member, change it, delete another", async () => {
    await s.seedConda({ channel: ORG, subdirs: ["linux-64"], packages: [{ name: "shared-lib", version: "1.0", subdir: "linux-64" }, { name: "secret-app", version: "2.0", subdir: "linux-64" }] });
    const page = await olga.page(`/organizations/${ORG}`);
    assert.match(page.html, /type="checkbox" name="packages" value="secret-app"/, "the channel's packages are offered");
    assert.match(page.html, /type="checkbox" name="packages" value="shared-lib"/);

    const created = await post(olga, `/organizations/${ORG}/groups`, { name: "readers", permission: "read", scope: "listed", packages: "shared-lib" });
    assert.equal(created.status, 303);
    assert.equal(created.headers.get("location"), `/organizations/${ORG}?done=group-created&group=readers`);
    // refused as the API refuses, what was typed kept
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ["a taken name", { name: "readers", permission: "read", scope: "all" }, 409, /the group "readers" already exists in olga-lab/],
      ["a bad permission", { name: "others", permission: "owner", scope: "all" }, 400, /invalid permission: one of read, write, admin/],
      ["a bad package name", { name: "others", permission: "read", scope: "listed", other: "ok-name $bad" }, 400, /invalid package name "\$bad": /],
      ["a bad group name", { name: "Others!", permission: "read", scope: "all" }, 400, /invalid name/],
    ];
    for (const [what, fields, status, says] of cases) {
      const res = await post(olga, `/organizations/${ORG}/groups`, fields);
      assert.equal(res.status, status, what);
      const html = await res.text();
      assert.match(textOf(html), says, what);
      assert.match(html, new RegExp(`id="new-name" name="name" type="text"[^>]* value="${fields.name!.replace(/[!$]/g, "\\$&")}"`), `${what}: the name is kept`);
    }
    assert.equal((await post(olga, `/organizations/${ORG}/groups`, { name: "writers", permission: "write", scope: "all" })).status, 303);
    assert.equal((await post(olga, `/organizations/${ORG}/groups/readers/members`, { user: "mona" })).status, 303);
    assert.equal((await post(olga, `/organizations/${ORG}/groups/readers/members`, { user: "ghost" })).status, 404);
    assert.equal((await post(olga, `/organizations/${ORG}/groups/nope/members`, { user: "mona" })).status, 404);
    let groups = (await org())!.groups!;
    assert.deepEqual(groups.find((g) => g.name === "readers"), { name: "readers", permission: "read", packages: ["shared-lib"], members: ["mona"] });
    assert.deepEqual(groups.find((g) => g.name === "writers"), { name: "writers", permission: "write", packages: "*", members: [] });

    // change: checked and typed names together, normalized and sorted as the API does
    const changed = await post(olga, `/organizations/${ORG}/groups/writers`, { permission: "admin", scope: "listed", packages: "secret-app", other: "Future_Pkg, later.one" });
    assert.equal(changed.status, 303);
    groups = (await org())!.groups!;
    assert.deepEqual(groups.find((g) => g.name === "writers"), { name: "writers", permission: "admin", packages: ["future-pkg", "later-one", "secret-app"], members: [] });
    const shown = await olga.page(`/organizations/${ORG}`);
    assert.match(shown.html, /id="g1-other" name="other" type="text" value="future-pkg later-one"/, "names beyond the channel's fill the text field");
    assert.match(shown.html, /id="g1-pkg-0" type="checkbox" name="packages" value="secret-app" checked/);

    assert.equal((await post(olga, `/organizations/${ORG}/groups/writers/delete`, {})).status, 303);
    assert.deepEqual((await org())!.groups!.map((g) => g.name), ["readers"]);
    assert.equal((await post(olga, `/organizations/${ORG}/groups/writers/delete`, {})).status, 404);
  });

  test("a member sees the organization's admins and their own groups, no form, and is refused a change (403) as by the API", async () => {
    await post(olga, `/organizations/${ORG}/groups`, { name: "hidden-group", permission: "read", scope: "all" });
    const page = await mona.page(`/organizations/${ORG}`);
    assert.equal(page.status, 200);
    const text = textOf(page.html);
    assert.match(text, /you are a member/);
    assert.match(text, /Your groups .* readers read Members may download shared-lib Members mona \(you\)/);
    assert.doesNotMatch(text, /hidden-group/, "a member sees only their own groups");
    assert.doesNotMatch(page.html, /action="\/organizations\//, "and no form");
    assert.match(textOf((await mona.page("/memberships")).html), /olga-lab readers read may download them shared-lib/);
    assert.match(textOf((await mona.page("/organizations")).html), /olga-lab readers: read/);

    const before = JSON.stringify(await org());
    for (const [path, fields] of [
      ["/admins", { user: "mona" }],
      ["/admins/remove", { user: "olga" }],
      ["/groups", { name: "mine", permission: "admin", scope: "all" }],
      ["/groups/readers", { permission: "admin", scope: "all" }],
      ["/groups/readers/delete", {}],
      ["/groups/readers/members", { user: "nick" }],
      ["/groups/readers/members/remove", { user: "mona" }],
    ] as [string, Record<string, string>][]) {
      const res = await post(mona, `/organizations/${ORG}${path}`, fields);
      assert.equal(res.status, 403, path);
      assert.match(textOf(await res.text()), /mona is not an admin of olga-lab/, path);
    }
    const privacy = await post(mona, `/organizations/${ORG}/privacy`, { defaultPrivacy: "private" });
    assert.equal(privacy.status, 403);
    assert.equal(JSON.stringify(await org()), before, "nothing changed");
  });

  test("default privacy: the admins' switch", async () => {
    const res = await post(olga, `/organizations/${ORG}/privacy`, { defaultPrivacy: "private" });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), `/organizations/${ORG}?done=privacy&privacy=private`);
    assert.equal((await org())?.defaultPrivacy, "private");
    const page = await olga.page(res.headers.get("location")!);
    assert.match(textOf(page.html), /Packages without their own setting are private now/);
    assert.match(page.html, /id="privacy-private" type="radio" name="defaultPrivacy" value="private" checked/);
    const bad = await post(olga, `/organizations/${ORG}/privacy`, { defaultPrivacy: "secret" });
    assert.equal(bad.status, 400);
    assert.match(textOf(await bad.text()), /invalid defaultPrivacy: "public" or "private"/);
    assert.match(textOf((await mona.page(`/organizations/${ORG}`)).html), /Packages without their own setting are private/);
  });

  test("anyone else: refused where the channel is public, as by the API", async () => {
    assert.equal((await post(pete, "/organizations", { name: "pete-pub" })).status, 303);
    const refused = await nick.page("/organizations/pete-pub");
    assert.equal(refused.status, 403);
    assert.match(textOf(refused.html), /nick is not a member of pete-pub/);
    const change = await post(nick, "/organizations/pete-pub/groups", { name: "mine", permission: "admin", scope: "all" });
    assert.equal(change.status, 403);
    assert.match(textOf(await change.text()), /nick is not an admin of pete-pub/);
    assert.deepEqual((await s.rt.catalog.getAccount("pete-pub"))?.groups, []);
  });

  test("anyone else: where nothing of the channel is visible, exactly what a missing organization gets, on every page and form", async () => {
    const missing = await nick.page("/organizations/no-such-org");
    assert.equal(missing.status, 404);
    const same = (html: string, name: string) => html.replaceAll(name, "X");
    for (const name of [ORG, "pete"]) {
      const hidden = await nick.page(`/organizations/${name}`);
      assert.equal(hidden.status, 404, name);
      assert.equal(same(hidden.html, name), same(missing.html, "no-such-org"), `${name} is answered as a missing organization`);
    }
    const before = JSON.stringify(await org());
    for (const path of ["/admins", "/admins/remove", "/groups", "/groups/readers", "/groups/readers/delete", "/groups/readers/members", "/groups/readers/members/remove", "/privacy"]) {
      const hidden = await post(nick, `/organizations/${ORG}${path}`, { user: "nick", name: "x", permission: "read", scope: "all", defaultPrivacy: "public" });
      const gone = await post(nick, `/organizations/no-such-org${path}`, { user: "nick", name: "x", permission: "read", scope: "all", defaultPrivacy: "public" });
      assert.equal(hidden.status, 404, path);
      assert.equal(same(await hidden.text(), ORG), same(await gone.text(), "no-such-org"), path);
    }
    assert.equal(JSON.stringify(await org()), before, "nothing changed");
    // the API says the same
    const token = await apiToken(s.url, "nick", PASSWORD);
    const fromApi = await fetch(`${s.url}/api/orgs/${ORG}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(fromApi.status, 404);
  });

  test("the member removed, the group deleted: Group Membership follows", async () => {
    assert.equal((await post(olga, `/organizations/${ORG}/groups/readers/members/remove`, { user: "mona" })).status, 303);
    assert.equal((await post(olga, `/organizations/${ORG}/groups/readers/members/remove`, { user: "mona" })).status, 404, "no longer a member");
    assert.match(textOf((await mona.page("/memberships")).html), /You are in no group of any organization/);
    assert.equal((await mona.get(`/organizations/${ORG}`)).status, 404);
  });

  test("every form is refused without its token or from another origin, and changes nothing", async () => {
    const before = JSON.stringify(await org());
    const token = await olga.formToken(`/organizations/${ORG}`);
    const forms: [string, Record<string, string>][] = [
      ["/organizations", { name: "sneaky" }],
      [`/organizations/${ORG}/admins`, { user: "nick" }],
      [`/organizations/${ORG}/admins/remove`, { user: "pete" }],
      [`/organizations/${ORG}/privacy`, { defaultPrivacy: "public" }],
      [`/organizations/${ORG}/groups`, { name: "sneaky", permission: "admin", scope: "all" }],
      [`/organizations/${ORG}/groups/readers`, { permission: "admin", scope: "all" }],
      [`/organizations/${ORG}/groups/readers/delete`, {}],
      [`/organizations/${ORG}/groups/readers/members`, { user: "nick" }],
      [`/organizations/${ORG}/groups/hidden-group/members/remove`, { user: "nick" }],
    ];
    for (const [path, fields] of forms) {
      for (const [what, opts] of [
        ["no token", { token: "" }],
        ["another browser's token", { token: await nick.formToken("/organizations") }],
        ["another origin", { token, origin: "https://evil.example" }],
      ] as [string, { token: string; origin?: string }][]) {
        const res = await post(olga, path, fields, opts);
        assert.equal(res.status, 403, `${path}: ${what}`);
        assert.match(textOf(await res.text()), /not sent from pkgate's own page/, `${path}: ${what}`);
      }
    }
    assert.equal(JSON.stringify(await org()), before);
    assert.equal(await s.rt.catalog.getAccount("sneaky"), null);
  });

  test("nobody signed in is sent to sign in", async () => {
    const anonymous = new WebClient(s.url);
    for (const path of ["/organizations", `/organizations/${ORG}`, "/memberships"]) {
      const res = await anonymous.get(path);
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get("location"), `/?tab=signin&next=${encodeURIComponent(path)}`);
    }
    const post = await anonymous.post(`/organizations/${ORG}/admins`, { user: "nick" });
    assert.equal(post.status, 303);
    assert.deepEqual((await org())?.admins, ["pete", "olga"]);
  });
});
