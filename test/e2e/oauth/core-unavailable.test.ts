import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OAuthStack, startOAuthStack } from "./harness.js";

// When the core is down the facade still answers in each endpoint's own form, and says nothing internal.
let stack: OAuthStack;

beforeAll(async () => {
  stack = await startOAuthStack();
  await stack.t.core.close(100);
});
afterAll(async () => {
  await stack?.close();
});

describe("a core outage is reported in each endpoint's own form", () => {
  it("the authorization endpoint shows a 503 page, not JSON and not a redirect", async () => {
    const res = await fetch(`${stack.issuer}/oauth/authorize?client_id=x&response_type=code`, { redirect: "manual" });
    expect(res.status).toBe(503);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/temporarily unavailable/);
  });

  it("the token endpoint answers 503 temporarily_unavailable as JSON, never cached", async () => {
    const res = await fetch(`${stack.issuer}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=refresh_token&refresh_token=x&client_id=y",
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toMatchObject({ error: "temporarily_unavailable" });
  });
});
