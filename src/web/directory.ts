// The organizations around a signed-in user: those they administer (the Profile menu
// switches between them), the groups they belong to (Group Membership), and both together
// (Organizations). The catalog keeps no index from a user to their organizations, so this
// lists the accounts in the store (the catalog's catalogAccountNames, again only when the
// catalog's generation moves) and reads each through the catalog's cached lookups. Who
// administers or belongs is read from each organization's own document, as the policy reads it.
import type { Store } from "../store/store.js";
import type { Account, Group } from "../access/model.js";
import { catalogAccountNames, catalogKeys, type Catalog } from "../access/catalog.js";

export interface Membership {
  org: string;
  group: Group;
}

/** An organization as one of its users stands in it. */
export interface Standing {
  org: Account;
  admin: boolean;
  /** The groups the user is a member of. */
  groups: Group[];
}

export class Directory {
  private names: { generation: string; names: Promise<string[]> } | null = null;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
  ) {}

  /** The organizations `user` is an admin of, by name. */
  async administeredBy(user: string): Promise<Account[]> {
    return (await this.organizations()).filter((org) => (org.admins ?? []).includes(user));
  }

  /** The groups `user` is a member of, in every organization. */
  async membershipsOf(user: string): Promise<Membership[]> {
    return (await this.standingsOf(user)).flatMap((s) => s.groups.map((group) => ({ org: s.org.name, group })));
  }

  /** The organizations `user` administers or belongs to through a group, by name. */
  async standingsOf(user: string): Promise<Standing[]> {
    return (await this.organizations())
      .map((org) => ({ org, admin: (org.admins ?? []).includes(user), groups: (org.groups ?? []).filter((g) => g.members.includes(user)) }))
      .filter((s) => s.admin || s.groups.length > 0)
      .sort((a, b) => a.org.name.localeCompare(b.org.name));
  }

  private async organizations(): Promise<Account[]> {
    const accounts = await Promise.all((await this.accountNames()).map((name) => this.catalog.getAccount(name)));
    return accounts.filter((a): a is Account => a?.kind === "org");
  }

  /** The account names, listed again when the catalog's generation moved (a new account
   * moves it): one stat a page, one listing a change. */
  private async accountNames(): Promise<string[]> {
    const info = await this.store.stat(catalogKeys.generation);
    const generation = info ? `${info.etag}|${info.lastModified.getTime()}` : "none";
    if (this.names?.generation === generation) return this.names.names;
    const names = catalogAccountNames(this.store);
    this.names = { generation, names };
    names.catch(() => (this.names = null));
    return names;
  }
}
