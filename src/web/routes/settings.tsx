// Account settings (email, password change) and password recovery by mail.
import type { Area } from "../routing.js";

export const settingsPages: Area = () => {};
