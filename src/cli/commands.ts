// The `pkgate` command: anaconda-client's verbs, acting directly on the store and cache
// that the environment configures (the same variables as the gateway). Errors exit
// non-zero with one clear line; `auth --create` prints the token alone on the last line.
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { createRuntime, type Runtime } from "../runtime.js";
import { GateError } from "../errors.js";
import { parseScopes } from "../auth/scopes.js";
import { hashPassword, validatePassword } from "../auth/password.js";
import { normalizeProjectName } from "../pypi/names.js";
import type { TokenRecord } from "../access/model.js";

const USAGE = `usage: pkgate <command> [options]

  org --create NAME                          create an organization (its channel is NAME)
  user --create NAME --email EMAIL           create a user (password read from standard input)
  channel --private NAME | --public NAME     set a channel's default privacy
  package --private CHANNEL/NAME | --public CHANNEL/NAME
                                             set one package's privacy (conda and PyPI alike)
  auth --create --name NAME --scopes 'SCOPES' (--org ORG | --user USER) [--max-age SECONDS]
                                             issue a token; the token is the last line of output
  auth --list (--org ORG | --user USER)      list live tokens (never the secrets)
  auth --remove NAME (--org ORG | --user USER)
                                             revoke a token
options: --json   machine-readable output
The store and cache are those of the environment (DATA_DIR, S3_*, REDIS_URL), as for the gateway.`;

class UsageError extends Error {}

interface Out {
  json: boolean;
  print(human: string, data: unknown): void;
}

export async function run(argv: string[], io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    io.stdout.write(USAGE + "\n");
    return command ? 0 : 2;
  }
  let rt: Runtime | null = null;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        create: { type: "boolean" },
        list: { type: "boolean" },
        remove: { type: "string" },
        private: { type: "string" },
        public: { type: "string" },
        name: { type: "string" },
        scopes: { type: "string" },
        org: { type: "string" },
        user: { type: "string" },
        email: { type: "string" },
        "max-age": { type: "string" },
        json: { type: "boolean" },
      },
    });
    const out: Out = {
      json: !!values.json,
      print(human, data) {
        io.stdout.write((this.json ? JSON.stringify(data) : human) + "\n");
      },
    };
    rt = await createRuntime(loadConfig());
    const { catalog } = rt;

    switch (command) {
      case "org": {
        const name = one(values.create ? positionals : [], "org --create NAME");
        const acc = await catalog.createAccount({ name, kind: "org" });
        out.print(`created organization ${acc.name} (channel ${acc.name}, public by default)`, acc);
        return 0;
      }
      case "user": {
        const name = one(values.create ? positionals : [], "user --create NAME --email EMAIL");
        if (!values.email || !/^[^@\s]+@[^@\s]+$/.test(values.email)) throw new UsageError("user --create needs --email with a valid address");
        const password = await readPassword(io);
        validatePassword(password);
        const acc = await catalog.createAccount({ name, kind: "user", email: values.email, passwordHash: await hashPassword(password) });
        const { passwordHash: _h, ...shown } = acc;
        out.print(`created user ${acc.name} <${acc.email}>`, shown);
        return 0;
      }
      case "channel": {
        const [privacy, name] = privacyArg(values);
        const acc = await catalog.setChannelPrivacy(name, privacy);
        out.print(`channel ${name} is now ${privacy} by default`, { channel: name, defaultPrivacy: acc.defaultPrivacy });
        return 0;
      }
      case "package": {
        const [privacy, spec] = privacyArg(values);
        const m = /^([^/]+)\/([^/]+)$/.exec(spec);
        if (!m) throw new UsageError("package needs CHANNEL/NAME");
        const pkg = normalizeProjectName(m[2]!);
        await catalog.setPackagePrivacy(m[1]!, pkg, privacy);
        out.print(`package ${m[1]}/${pkg} is now ${privacy}`, { channel: m[1], package: pkg, privacy });
        return 0;
      }
      case "auth": {
        const account = values.org ?? values.user;
        if (!account || (values.org && values.user)) throw new UsageError("auth needs exactly one of --org ORG or --user USER");
        await catalog.requireAccount(account, values.org ? "org" : "user");
        if (values.create) {
          if (!values.name) throw new UsageError("auth --create needs --name NAME");
          if (!values.scopes) throw new UsageError("auth --create needs --scopes 'SCOPES' (e.g. 'conda:download pypi:download')");
          const maxAge = values["max-age"];
          if (maxAge !== undefined && !/^\d+$/.test(maxAge)) throw new UsageError("--max-age is a whole number of seconds");
          const { token, record } = await catalog.createToken({
            account,
            name: values.name,
            scopes: parseScopes(values.scopes),
            maxAgeSeconds: maxAge === undefined ? undefined : Number(maxAge),
          });
          if (out.json) out.print("", { ...record, token });
          else io.stdout.write(`created token "${record.name}" for ${account} (scopes: ${record.scopes.join(" ")}; expires ${record.expiresAt})\n${token}\n`);
          return 0;
        }
        if (values.list) {
          const tokens = await catalog.listTokens(account);
          out.print(tokens.length ? tokens.map(formatToken).join("\n") : `no tokens for ${account}`, tokens);
          return 0;
        }
        if (values.remove) {
          const rec = await catalog.revokeToken(account, values.remove);
          out.print(`revoked token "${rec.name}" of ${account}`, rec);
          return 0;
        }
        throw new UsageError("auth needs --create, --list or --remove NAME");
      }
      default:
        throw new UsageError(`unknown command "${command}"; see pkgate --help`);
    }
  } catch (err) {
    const msg = err instanceof GateError || err instanceof UsageError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    io.stderr.write(`pkgate: ${msg}\n`);
    return err instanceof UsageError || (err instanceof Error && err.name === "TypeError" && /ERR_PARSE_ARGS/.test(String((err as { code?: string }).code))) ? 2 : 1;
  } finally {
    await rt?.close();
  }
}

function one(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`usage: pkgate ${usage}`);
  return positionals[0]!;
}

function privacyArg(values: { private?: string; public?: string }): ["private" | "public", string] {
  if (values.private && values.public) throw new UsageError("give either --private or --public");
  if (values.private) return ["private", values.private];
  if (values.public) return ["public", values.public];
  throw new UsageError("give --private NAME or --public NAME");
}

function formatToken(t: TokenRecord): string {
  return `${t.name}\tid ${t.id}\tscopes ${t.scopes.join(" ")}\texpires ${t.expiresAt}`;
}

async function readPassword(io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stderr: NodeJS.WritableStream }): Promise<string> {
  if (io.stdin.isTTY) io.stderr.write("password: ");
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) {
    chunks.push(Buffer.from(chunk as Buffer));
    if (io.stdin.isTTY && chunks.join("").includes("\n")) break;
  }
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
}
