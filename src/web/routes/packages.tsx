// The package pages: a package's versions and files, install lines, privacy switch, star
// (Favorites), a channel's page for browsers, labels.
import type { Area } from "../routing.js";

export const packagePages: Area = () => {};
