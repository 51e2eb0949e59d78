// The OpenAPI 3.1 document of /api, built from the same route table the router is built
// from (see route.ts), plus the schemas of the bodies. Served at /api/openapi.json.
import { SCOPES } from "../auth/scopes.js";
import { MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from "../auth/password.js";
import { ACCOUNT_NAME, PUBLISHER_NAME, CONDA_FILE, CONDA_PACKAGE_NAME, CONDA_SUBDIR, CONDA_VERSION, GROUP_NAME, KIND_FILE, LABEL_NAME, SIGNED_TOKEN, LIFETIME_CEILING, NORMALIZED_PACKAGE_NAME, PACKAGE_NAME, PYPI_PROJECT_NAME, TOKEN_NAME, lifetimeSchema } from "../access/names.js";
import { ACTIONS } from "../access/authorize.js";
import type { ApiRoute, Schema } from "./route.js";
import { ref } from "./route.js";

// Every name is published with the rule the server applies (access/names.ts), so a client
// validating against this document accepts exactly what the server accepts.
const account = ACCOUNT_NAME.schema("an account (user or organization) name, which is also its channel's");
const group = GROUP_NAME.schema();
const tokenName = TOKEN_NAME.schema();
const packageIn = PACKAGE_NAME.schema();
const packageOut = NORMALIZED_PACKAGE_NAME.schema("a package name, normalized (PEP 503: lower case, each run of '-', '_', '.' one '-')");
const privacy = { type: "string", enum: ["public", "private"] };
const permission = { type: "string", enum: ["read", "write", "admin"] };
const scope = { type: "string", enum: [...SCOPES] };
const dateTime = { type: "string", format: "date-time" };
const password = { type: "string", minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH, format: "password" };
const adopt = { type: "boolean", description: "server admins only: create the account although the store already has content under its name, taking that content over (refused otherwise)" };
const packages = (item: Schema, description: string) => ({
  oneOf: [
    { type: "string", const: "*", description: "every package of the organization's channel" },
    { type: "array", items: item, description },
  ],
});
const obj = (properties: Record<string, unknown>, required: string[] = []): Schema => ({ type: "object", properties, required, additionalProperties: false });

/** What a path parameter holds, by its name in the route table. */
export const PATH_PARAMETERS: Record<string, Schema> = {
  channel: account,
  org: account,
  user: account,
  group,
  package: packageIn,
  name: tokenName,
  publisher: PUBLISHER_NAME.schema("a trusted publisher's name"),
  label: LABEL_NAME.schema("a conda label (main: the channel's root)"),
  to: LABEL_NAME.schema("the conda label copied into"),
  basename: KIND_FILE.schema(),
  // anaconda-client's routes name them so
  owner: account,
  pkg: CONDA_PACKAGE_NAME.schema(),
  ver: CONDA_VERSION.schema(),
  subdir: CONDA_SUBDIR.schema(),
  file: CONDA_FILE.schema(),
  token: SIGNED_TOKEN.schema(),
  project: PYPI_PROJECT_NAME.schema("a PyPI project, as spelled or normalized"),
};

/** The schemas of the bodies; `tokenMaxAge` is the server's TOKEN_MAX_AGE (seconds). */
export function apiSchemas(tokenMaxAge: number = LIFETIME_CEILING): Record<string, Schema> {
  const maxAge = lifetimeSchema(tokenMaxAge);
  const token = obj(
    { id: { type: "string", description: "public id (12 hex characters), safe to log" }, name: tokenName, account, createdBy: account, scopes: { type: "array", items: scope }, createdAt: dateTime, expiresAt: dateTime, revokedAt: dateTime, packages: { type: "array", items: packageOut, description: "the only packages the token acts on" }, publisher: { type: "string", description: "the trusted publisher that minted it" } },
    ["id", "name", "account", "createdBy", "scopes", "createdAt", "expiresAt"],
  );
  return {
    Error: obj({ error: { type: "string", description: "stable code" }, message: { type: "string" } }, ["error", "message"]),
    User: obj({ name: account, kind: { type: "string", const: "user" }, email: { type: ["string", "null"] }, serverAdmin: { type: "boolean" }, createdAt: dateTime }, ["name", "kind"]),
    Signup: obj({ username: account, email: { type: "string", format: "email" }, password, serverAdmin: { type: "boolean" }, adopt }, ["username", "email", "password"]),
    Login: obj({ hostname: { type: "string", description: "names the token: login-<hostname>-<time>" }, maxAgeSeconds: maxAge }),
    UserPatch: obj({ email: { type: "string", format: "email" }, serverAdmin: { type: "boolean" } }),
    PasswordChange: obj({ password, currentPassword: { type: "string", format: "password", description: "required to change your own password" } }, ["password"]),
    Whoami: {
      type: "object",
      properties: { name: account, kind: { type: "string", enum: ["user", "org"] }, email: { type: ["string", "null"] }, serverAdmin: { type: "boolean" }, createdAt: dateTime, token: obj({ id: { type: "string" }, name: tokenName, scopes: { type: "array", items: scope }, expiresAt: dateTime }) },
      required: ["name", "kind", "token"],
    },
    Group: obj({ name: group, permission, packages: packages(packageOut, "package names (normalized)"), members: { type: "array", items: account } }, ["name", "permission", "packages", "members"]),
    GroupCreate: obj({ name: group, permission, packages: packages(packageIn, "package names (stored normalized)") }, ["name", "permission"]),
    GroupPatch: obj({ permission, packages: packages(packageIn, "package names (stored normalized)") }),
    Org: obj({ name: account, kind: { type: "string", const: "org" }, createdAt: dateTime, admins: { type: "array", items: account }, groups: { type: "array", items: ref("Group") }, defaultPrivacy: privacy }, ["name", "kind", "admins", "groups", "defaultPrivacy"]),
    OrgCreate: obj({ name: account, adopt }, ["name"]),
    Channel: obj({ name: account, kind: { type: "string", enum: ["user", "org"] }, defaultPrivacy: privacy, packages: { type: "object", propertyNames: packageOut, additionalProperties: privacy } }, ["name", "kind", "defaultPrivacy", "packages"]),
    ChannelPatch: obj({ defaultPrivacy: privacy }, ["defaultPrivacy"]),
    Package: obj({ channel: account, package: packageOut, privacy, own: { oneOf: [privacy, { type: "null" }] } }, ["channel", "package", "privacy", "own"]),
    PackagePrivacy: obj({ privacy }, ["privacy"]),
    Token: token,
    TokenCreate: obj({ name: tokenName, scopes: { oneOf: [{ type: "string", description: "space- or comma-separated" }, { type: "array", items: scope }] }, maxAgeSeconds: maxAge }, ["name", "scopes"]),
    TokenCreated: { allOf: [token, obj({ token: { type: "string", description: "the secret, shown once" } }, ["token"])] },
  };
}

const ERROR_TEXT: Record<number, string> = {
  400: "invalid input; the message names the field",
  401: "no token, or a bad, expired or revoked one (or wrong credentials on login)",
  403: "the token lacks the scope, or the account lacks the right",
  404: "no such resource (or one the caller may not see)",
  409: "conflict: the name is taken, or the last admin would leave",
  429: "too many wrong passwords; see Retry-After",
  503: "the store or cache is unavailable; retry later",
};

function operation(r: ApiRoute): Record<string, unknown> {
  const params: Record<string, unknown>[] = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: PATH_PARAMETERS[m[1]!] ?? { type: "string" } }));
  for (const q of r.query ?? []) params.push({ name: q.name, in: "query", required: false, description: q.description, schema: q.schema });
  if (r.client) params.push({ name: "x-binstar-api-version", in: "header", required: true, description: "anaconda-client's version, which it sends on every request: this operation answers anaconda-client only (its User-Agent, Anaconda-Client/…, is taken too)", schema: { type: "string" } });
  const statuses = new Set<number>([400, 503, ...r.errors]);
  if (r.auth !== "optional") statuses.add(401);
  const scope = r.action ? ACTIONS[r.action].scope : null;
  if (r.auth === "token" || scope) statuses.add(403);
  const responses: Record<string, unknown> = {
    [String(r.response.status)]: {
      description: r.response.description,
      ...(r.response.schema ? { content: { "application/json": { schema: r.response.schema } } } : {}),
    },
  };
  for (const s of [...statuses].sort()) {
    responses[String(s)] = { description: ERROR_TEXT[s] ?? "error", content: { "application/json": { schema: ref("Error") } } };
  }
  return {
    operationId: r.operationId,
    summary: r.summary,
    tags: [r.tag],
    ...(params.length ? { parameters: params } : {}),
    security: r.auth === "basic" ? [{ basic: [] }] : r.auth === "token" ? [{ bearer: [] }] : [{}, { bearer: [] }],
    ...(scope ? { "x-required-scope": scope } : {}),
    ...(r.rawRequest ? { requestBody: { required: true, description: r.rawRequest.description, content: { [r.rawRequest.contentType]: { schema: { type: "string", format: "binary" } } } } } : {}),
    ...(r.request ? { requestBody: { required: r.auth !== "basic", content: { "application/json": { schema: r.request } } } } : {}),
    responses,
  };
}

export interface OpenApiOptions {
  /** The server's TOKEN_MAX_AGE in seconds, published as maxAgeSeconds' maximum (default
   * LIFETIME_CEILING, the most any configuration accepts). */
  tokenMaxAge?: number;
}

/** The document for these routes; `basePath` is where the gateway is mounted. */
export function openApiDocument(routes: readonly ApiRoute[], basePath: string, options: OpenApiOptions = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  // pkgate's own operations first; an anaconda-client operation on the same path and method
  // (answered by the request's client, index.ts) is described inside it, as x-anaconda-client
  for (const r of [...routes.filter((x) => !x.client), ...routes.filter((x) => x.client)]) {
    const slot = (paths[`/api${r.path}`] ??= {});
    const m = r.method.toLowerCase();
    if (r.client && slot[m]) (slot[m] as Record<string, unknown>)["x-anaconda-client"] = operation(r);
    else slot[m] = operation(r);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "pkgate API",
      version: "1",
      description:
        "Accounts, organizations, groups, package privacy and tokens of a pkgate gateway. " +
        "Authenticate with 'Authorization: Bearer <token>' (POST /api/login gives one). " +
        "Reads need the api:read scope, changes api:write, groups and memberships api:modify-group; api and all cover them.",
    },
    servers: [{ url: basePath || "/" }],
    paths,
    components: {
      schemas: apiSchemas(options.tokenMaxAge),
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "a pkgate token (pkg-…)" },
        basic: { type: "http", scheme: "basic", description: "user name and password, for POST /api/login only" },
      },
    },
  };
}
