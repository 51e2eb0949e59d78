// The organization pages of the account guide: Organizations (the user's organizations and
// a form to create one), an organization's page (its admins, its groups with their
// permission, packages and members, the channel's default privacy) and Group Membership.
// A view shows a form only where the route found authorize() allows it; every form posts
// to its own address and works without a script.
import type { Account, Group, Permission, Privacy } from "../../access/model.js";
import type { Standing, Membership } from "../directory.js";
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { FormToken, Notice, Table } from "./layout.js";

/** What each permission lets a group's members do to its packages. */
export const PERMISSION_WORDS: Readonly<Record<Permission, string>> = {
  read: "download",
  write: "download and upload",
  admin: "download, upload and set the privacy of",
};

const PRIVACY_WORDS: Readonly<Record<Privacy, string>> = {
  public: "anyone may download them, without a token",
  private: "only the organization's admins and the members of a group that gives them read, with a token",
};

export interface OrgListState {
  standings: Standing[];
  /** What was typed into the create form. */
  name: string;
  error?: string;
  info?: string;
}

export function OrganizationsView({ web, visitor, state }: { web: Web; visitor: Visitor; state: OrgListState }) {
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Organizations</h1>
          <p class="sub">An organization shares packages under its own channel, with several admins, and gives groups of users read, write or admin on its packages.</p>
        </div>
      </div>
      {state.info ? <Notice>{state.info}</Notice> : null}
      {state.error ? <Notice kind="error">{state.error}</Notice> : null}
      <section class="card" aria-labelledby="yours">
        <h2 id="yours">Your organizations</h2>
        {state.standings.length === 0 ? (
          <p class="empty">You are in no organization yet. Create one below, or ask an organization's admin to add you to a group.</p>
        ) : (
          <Table label="Organization list" columns={["Organization", "You are"]}>
            {state.standings.map((s) => (
              <tr>
                <td>
                  <a href={href(web, `/organizations/${s.org.name}`)}>{s.org.name}</a>
                </td>
                <td>
                  {s.admin ? <span class="badge public">admin</span> : null}
                  {s.groups.map((g) => (
                    <span class="tag">
                      {g.name}: {g.permission}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section class="card" aria-labelledby="create">
        <h2 id="create">Create an organization</h2>
        <form method="post" action={href(web, "/organizations")}>
          <FormToken visitor={visitor} />
          <div class="field">
            <label for="org-name">Name</label>
            <input id="org-name" name="name" type="text" required maxlength={64} autocomplete="off" value={state.name} aria-describedby="org-name-hint" />
            <span id="org-name-hint" class="hint">
              Lower-case letters, digits, '-', '_' and '.'. It is also the channel's name: conda reaches it at /&lt;name&gt;/. You become its first admin.
            </span>
          </div>
          <button type="submit">Create organization</button>
        </form>
      </section>
    </>
  );
}

/** What was typed into a group's form, to fill it in again. */
export interface GroupForm {
  name: string;
  permission: string;
  scope: "all" | "listed";
  packages: string[];
  other: string;
}

export const EMPTY_GROUP_FORM: GroupForm = { name: "", permission: "read", scope: "listed", packages: [], other: "" };

export interface OrgState {
  org: Account;
  /** The groups the visitor may see (every group for admins, their own for members). */
  groups: Group[];
  /** May change admins, groups and members (authorize: org:modify-group). */
  manage: boolean;
  /** May set the channel's default privacy (authorize: channel:write). */
  setPrivacy: boolean;
  /** The channel's packages, normalized: the choices of a group's packages. */
  packages: string[];
  /** The create-group form as typed. */
  groupForm: GroupForm;
  error?: string;
  info?: string;
}

export function OrgView({ web, visitor, state }: { web: Web; visitor: Visitor; state: OrgState }) {
  const { org, manage } = state;
  const base = `/organizations/${org.name}`;
  return (
    <>
      <div class="page-head">
        <div>
          <h1>{org.name}</h1>
          <p class="sub">
            Organization · its channel is <code>{org.name}</code> · {manage ? "you manage it" : "you are a member"}
          </p>
        </div>
        {manage ? (
          <div class="actions">
            <a class="button secondary" href={href(web, `/dashboard/${org.name}`)}>
              Dashboard
            </a>
            <a class="button secondary" href={href(web, `/settings/${org.name}/tokens`)}>
              Access tokens
            </a>
          </div>
        ) : null}
      </div>
      {state.info ? <Notice>{state.info}</Notice> : null}
      {state.error ? <Notice kind="error">{state.error}</Notice> : null}
      <div class="grid2">
        <section class="card" aria-labelledby="admins">
          <h2 id="admins">Admins</h2>
          <p class="hint">Admins manage the organization: its admins, groups, tokens and privacy. The last admin cannot leave.</p>
          <ul class="people">
            {(org.admins ?? []).map((admin) => (
              <li>
                <span class="mono">{admin}</span>
                {admin === visitor.user?.name ? <span class="hint"> (you)</span> : null}
                {manage ? (
                  <form method="post" action={href(web, `${base}/admins/remove`)}>
                    <FormToken visitor={visitor} />
                    <input type="hidden" name="user" value={admin} />
                    <button type="submit" class="danger small">
                      Remove<span class="visually-hidden"> {admin} as admin</span>
                    </button>
                  </form>
                ) : null}
              </li>
            ))}
          </ul>
          {manage ? (
            <form method="post" action={href(web, `${base}/admins`)} class="add">
              <FormToken visitor={visitor} />
              <label for="admin-user">Add an admin</label>
              <div class="inline">
                <input id="admin-user" name="user" type="text" required maxlength={64} autocomplete="off" aria-describedby="admin-user-hint" />
                <button type="submit">Add admin</button>
              </div>
              <span id="admin-user-hint" class="hint">
                A user's name.
              </span>
            </form>
          ) : null}
        </section>
        <section class="card" aria-labelledby="privacy">
          <h2 id="privacy">Default privacy</h2>
          {state.setPrivacy ? (
            <form method="post" action={href(web, `${base}/privacy`)}>
              <FormToken visitor={visitor} />
              <fieldset class="choices">
                <legend>Packages without their own setting are</legend>
                {(["public", "private"] as const).map((p) => (
                  <label class="check" for={`privacy-${p}`}>
                    <input id={`privacy-${p}`} type="radio" name="defaultPrivacy" value={p} checked={org.defaultPrivacy === p} />
                    <span>
                      {p}
                      <br />
                      <span class="hint">{PRIVACY_WORDS[p]}</span>
                    </span>
                  </label>
                ))}
              </fieldset>
              <button type="submit">Save default privacy</button>
            </form>
          ) : (
            <p>
              Packages without their own setting are <span class={`badge ${org.defaultPrivacy}`}>{org.defaultPrivacy}</span>: {PRIVACY_WORDS[org.defaultPrivacy]}.
            </p>
          )}
        </section>
      </div>
      <section class="card" aria-labelledby="groups">
        <h2 id="groups">{manage ? "Groups" : "Your groups"}</h2>
        <p class="hint">A group gives its members a permission on every package of the channel, or on the packages it lists.</p>
        {state.groups.length === 0 ? (
          <p class="empty">{manage ? "No groups yet: create one below." : "You are in no group of this organization."}</p>
        ) : (
          state.groups.map((g, i) => <GroupCard web={web} visitor={visitor} state={state} group={g} id={`g${i}`} />)
        )}
      </section>
      {manage ? (
        <section class="card" aria-labelledby="new-group">
          <h2 id="new-group">Create a group</h2>
          <form method="post" action={href(web, `${base}/groups`)}>
            <FormToken visitor={visitor} />
            <div class="field">
              <label for="new-name">Group name</label>
              <input id="new-name" name="name" type="text" required maxlength={64} autocomplete="off" value={state.groupForm.name} aria-describedby="new-name-hint" />
              <span id="new-name-hint" class="hint">
                Lower-case letters, digits, '_', '.' and '-', e.g. "analysts".
              </span>
            </div>
            <GroupFields id="new" form={state.groupForm} packages={state.packages} />
            <button type="submit">Create group</button>
          </form>
        </section>
      ) : null}
    </>
  );
}


function GroupCard({ web, visitor, state, group, id }: { web: Web; visitor: Visitor; state: OrgState; group: Group; id: string }) {
  const base = `/organizations/${state.org.name}/groups/${group.name}`;
  const listed = group.packages === "*" ? [] : group.packages;
  const form: GroupForm = {
    name: group.name,
    permission: group.permission,
    scope: group.packages === "*" ? "all" : "listed",
    packages: listed.filter((p) => state.packages.includes(p)),
    other: listed.filter((p) => !state.packages.includes(p)).join(" "),
  };
  return (
    <article class="group" aria-labelledby={id}>
      <h3 id={id}>
        {group.name} <span class="badge">{group.permission}</span>
      </h3>
      {group.packages !== "*" && listed.length === 0 ? (
        <p>It lists no package yet.</p>
      ) : (
        <p>
          Members may {PERMISSION_WORDS[group.permission]}{" "}
          {group.packages === "*"
            ? "every package of the channel, now and later."
            : listed.map((p) => (
                <span class="tag">{p}</span>
              ))}
        </p>
      )}
      <h4 id={`${id}-members`}>Members</h4>
      {group.members.length === 0 ? (
        <p class="hint">No members yet.</p>
      ) : (
        <ul class="people" aria-labelledby={`${id}-members`}>
          {group.members.map((m) => (
            <li>
              <span class="mono">{m}</span>
              {m === visitor.user?.name ? <span class="hint"> (you)</span> : null}
              {state.manage ? (
                <form method="post" action={href(web, `${base}/members/remove`)}>
                  <FormToken visitor={visitor} />
                  <input type="hidden" name="user" value={m} />
                  <button type="submit" class="danger small">
                    Remove<span class="visually-hidden">
                      {" "}
                      {m} from {group.name}
                    </span>
                  </button>
                </form>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {state.manage ? (
        <>
          <form method="post" action={href(web, `${base}/members`)} class="add">
            <FormToken visitor={visitor} />
            <label for={`${id}-user`}>
              Add a member<span class="visually-hidden"> to {group.name}</span>
            </label>
            <div class="inline">
              <input id={`${id}-user`} name="user" type="text" required maxlength={64} autocomplete="off" placeholder="user name" />
              <button type="submit">
                Add member<span class="visually-hidden"> to {group.name}</span>
              </button>
            </div>
          </form>
          <details class="edit">
            <summary>
              Change the permission or packages<span class="visually-hidden"> of {group.name}</span>
            </summary>
            <form method="post" action={href(web, base)}>
              <FormToken visitor={visitor} />
              <GroupFields id={id} form={form} packages={state.packages} />
              <button type="submit">
                Save<span class="visually-hidden"> {group.name}</span>
              </button>
            </form>
          </details>
          <form method="post" action={href(web, `${base}/delete`)} class="delete">
            <FormToken visitor={visitor} />
            <button type="submit" class="danger small">
              Delete group<span class="visually-hidden"> {group.name}</span>
            </button>
          </form>
        </>
      ) : null}
    </article>
  );
}

/** A group's permission and packages: every package, or those checked and named. */
function GroupFields({ id, form, packages }: { id: string; form: GroupForm; packages: string[] }) {
  return (
    <>
      <div class="field">
        <label for={`${id}-permission`}>Permission</label>
        <select id={`${id}-permission`} name="permission">
          {(Object.keys(PERMISSION_WORDS) as Permission[]).map((p) => (
            <option value={p} selected={form.permission === p}>
              {p}: may {PERMISSION_WORDS[p]} the packages
            </option>
          ))}
        </select>
      </div>
      <fieldset class="choices">
        <legend>Packages</legend>
        <label class="check" for={`${id}-all`}>
          <input id={`${id}-all`} type="radio" name="scope" value="all" checked={form.scope === "all"} />
          <span>Every package of the channel, now and later</span>
        </label>
        <label class="check" for={`${id}-listed`}>
          <input id={`${id}-listed`} type="radio" name="scope" value="listed" checked={form.scope === "listed"} />
          <span>Only these packages:</span>
        </label>
        <div class="package-choices">
          {packages.map((p, j) => (
            <label class="check" for={`${id}-pkg-${j}`}>
              <input id={`${id}-pkg-${j}`} type="checkbox" name="packages" value={p} checked={form.packages.includes(p)} />
              <span class="mono">{p}</span>
            </label>
          ))}
        </div>
        <div class="field">
          <label for={`${id}-other`}>{packages.length ? "Other package names" : "Package names"}</label>
          <input id={`${id}-other`} name="other" type="text" value={form.other} autocomplete="off" aria-describedby={`${id}-other-hint`} />
          <span id={`${id}-other-hint`} class="hint">
            Separated by spaces or commas; packages not uploaded yet may be named too.
          </span>
        </div>
      </fieldset>
    </>
  );
}

export function MembershipsView({ web, memberships }: { web: Web; memberships: Membership[] }) {
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Group Membership</h1>
          <p class="sub">The groups of organizations you are a member of, and what each lets you do.</p>
        </div>
      </div>
      <section class="card" aria-label="Your groups">
        {memberships.length === 0 ? (
          <p class="empty">You are in no group of any organization. An organization's admin adds you to a group.</p>
        ) : (
          <Table label="Group list" columns={["Organization", "Group", "Permission", "Packages"]}>
            {memberships.map((m) => (
              <tr>
                <td>
                  <a href={href(web, `/organizations/${m.org}`)}>{m.org}</a>
                </td>
                <td class="mono">{m.group.name}</td>
                <td>
                  <span class="badge">{m.group.permission}</span>
                  <div class="hint">may {PERMISSION_WORDS[m.group.permission]} them</div>
                </td>
                <td>{m.group.packages === "*" ? "every package" : m.group.packages.length ? m.group.packages.map((p) => <span class="tag">{p}</span>) : "none yet"}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </>
  );
}
