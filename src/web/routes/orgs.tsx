// The organization pages: create one, its admins, its groups and their members, the
// channel's default privacy; Group Membership.
import type { Area } from "../routing.js";

export const orgPages: Area = () => {};
