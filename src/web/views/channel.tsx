// A channel's page, for a browser that opens the channel's own address (`/acme/`): the
// packages the visitor may see, searched and a page at a time, and how conda and pip reach
// the channel. Its admins find a link to its Dashboard.
import type { Account } from "../../access/model.js";
import { href, type Web } from "../web.js";
import { PackagesAndUse, type PackageListState } from "./dashboard.js";

export function ChannelView({ web, account, list, admin, channelUrl, pipUrl }: { web: Web; account: Account; list: PackageListState; admin: boolean; channelUrl: string; pipUrl: string }) {
  return (
    <>
      <div class="page-head">
        <div>
          <h1>{account.name}</h1>
          <p class="sub">
            {account.kind === "org" ? "An organization's" : "A user's"} conda channel and PyPI index{list.count ? "" : " · nothing here you can see"}
          </p>
        </div>
        {admin ? (
          <a class="button secondary" href={href(web, `/dashboard/${account.name}`)}>
            Dashboard
          </a>
        ) : null}
      </div>
      <PackagesAndUse web={web} list={admin ? list : { ...list, empty: "No package here that you may see. Its owner can tell you what there is, and give you a token for the private ones." }} channelUrl={channelUrl} pipUrl={pipUrl} />
    </>
  );
}
