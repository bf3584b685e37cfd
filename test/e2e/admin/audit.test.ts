import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { type RunningFacade, startFacade } from "../../../src/facade/server.js";
import { createObservability } from "../../../src/observability/observability.js";
import { type TestCore, startTestCore } from "../../support/core.js";

// The console over plain HTTP (no browser): sign-in through the OAuth login form, one action, and the
// audit line it leaves in the facade's JSON log.
let t: TestCore;
let facade: RunningFacade;
let base: string;
const lines: string[] = [];
const jar = new Map<string, string>();

beforeAll(async () => {
  t = await startTestCore();
  const config = loadConfig({
    MESHAI_DATA_DIR: t.config.dataDir,
    MESHAI_HOST: "127.0.0.1",
    MESHAI_HTTP_PORT: "0",
    MESHAI_GRPC_PORT: "0",
    MESHAI_CORE_URL: t.core.url,
    MESHAI_LOG_LEVEL: "info",
  });
  const observability = createObservability(config, { destination: { write: (s: string) => void lines.push(s) } });
  facade = await startFacade(config, undefined, { graceMs: 200, observability });
  base = facade.url;
});
afterAll(async () => {
  await facade?.close();
  await t?.close();
});

/** fetch with a cookie jar and no redirect following. */
async function request(path: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.form ? "POST" : "GET"),
    redirect: "manual",
    headers: {
      cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
      ...(init.form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
    },
    body: init.form ? new URLSearchParams(init.form) : undefined,
  });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const [k, v] = pair!.split("=");
    if (/Max-Age=0/.test(c)) jar.delete(k!);
    else jar.set(k!, v!);
  }
  return res;
}

const csrfOf = (page: string) => /name="csrf_token" value="([^"]+)"/.exec(page)?.[1] ?? "";

describe("every console action leaves one audit line: who, what, the outcome, and no secret", () => {
  it("signs in over HTTP, creates a user, and the log has a console_action line without the password or tokens", async () => {
    const start = await request("/admin/login?next=%2Fadmin%2Fusers%2Fnew");
    expect(start.status).toBe(303);
    const loginUrl = start.headers.get("location")!;
    const interaction = new URL(loginUrl, base).searchParams.get("interaction")!;
    const login = await request("/oauth/login", {
      form: { interaction, csrf_token: jar.get("meshai_csrf")!, email: "admin@example.com", password: "admin-password-1" },
    });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/admin/users/new");
    const form = await request("/admin/users/new");
    expect(form.status).toBe(200);
    const csrf = csrfOf(await form.text());
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const created = await request("/admin/users", { form: { csrf_token: csrf, email: "audited@example.com", name: "Audited", password: "audited-password-1" } });
    expect(created.status).toBe(303);
    const admin = await t.core.platform.users.byEmail("admin@example.com");
    const audit = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === "console_action");
    expect(audit).toEqual([
      expect.objectContaining({ admin_user_id: admin!.id, method: "POST", path: "/admin/users", result: "Created user audited@example.com." }),
    ]);
    const all = lines.join("\n");
    expect(all).not.toContain("audited-password-1");
    expect(all).not.toContain("admin-password-1");
    expect(all).not.toContain(jar.get("meshai_session")!);
    expect(all).not.toContain(csrf);
  });
});
