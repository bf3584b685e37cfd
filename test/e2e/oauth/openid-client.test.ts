import * as oidc from "openid-client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type ClientSite, type OAuthStack, launchBrowser, screenshot, signInAndDecide, startClientSite, startOAuthStack } from "./harness.js";

// openid-client (panva) as the relying party against the real facade and core; the person is real Chromium.
let stack: OAuthStack;
let site: ClientSite;
let browser: Browser;
let page: Page;
let config: oidc.Configuration;

const insecure = { execute: [oidc.allowInsecureRequests] };
const SCOPE = "openid profile email mcp:read offline_access";

beforeAll(async () => {
  [stack, site, browser] = await Promise.all([startOAuthStack(), startClientSite(), launchBrowser()]);
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await stack?.close();
});

describe("discovery", () => {
  it("openid-client discovers the authorization server from the issuer over loopback http", async () => {
    const discovered = await oidc.discovery(new URL(stack.issuer), "unregistered", undefined, undefined, insecure);
    const meta = discovered.serverMetadata();
    expect(meta.issuer).toBe(stack.issuer);
    expect(meta.authorization_endpoint).toBe(`${stack.issuer}/oauth/authorize`);
    expect(meta.code_challenge_methods_supported).toEqual(["S256"]);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
  });
});

describe("dynamic client registration", () => {
  it("registers a confidential client through openid-client and gets a secret once", async () => {
    config = await oidc.dynamicClientRegistration(
      new URL(stack.issuer),
      {
        client_name: "Relying Party Test",
        redirect_uris: [site.redirectUri],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
      oidc.ClientSecretBasic(),
      insecure,
    );
    const meta = config.clientMetadata();
    expect(meta.client_id).toBeTruthy();
    expect(meta.client_secret).toBeTruthy();
    expect(meta.redirect_uris).toEqual([site.redirectUri]);
  });
});

let callback: URL;
const verifier = oidc.randomPKCECodeVerifier();
const state = oidc.randomState();
const nonce = oidc.randomNonce();
let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;

describe("authorization code with PKCE, the person in a real browser", () => {
  it("signs in on the labelled form and approves; the browser returns to the client with code, state and iss", async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: site.redirectUri,
      scope: SCOPE,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    callback = await signInAndDecide(page, site, url.href, { screenshots: "openid-client" });
    expect(callback.searchParams.get("code")).toBeTruthy();
    expect(callback.searchParams.get("state")).toBe(state);
    expect(callback.searchParams.get("iss")).toBe(stack.issuer);
  });

  it("openid-client refuses an authorization response whose iss is another server (RFC 9207 mix-up defence)", async () => {
    const forged = new URL(callback);
    forged.searchParams.set("iss", "https://attacker.example");
    const err = await oidc.authorizationCodeGrant(config, forged, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }).catch((e) => e);
    expect(err).toMatchObject({ code: "OAUTH_INVALID_RESPONSE" });
    expect(String(err.cause?.message)).toMatch(/"iss"/);
  });

  it("exchanges the code with the PKCE verifier for a Bearer access token, a refresh token and an ID token", async () => {
    tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope?.split(" ").sort()).toEqual(SCOPE.split(" ").sort());
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(stack.issuer);
    expect([claims.aud].flat()).toContain(config.clientMetadata().client_id);
    expect(claims.nonce).toBe(nonce);
    const user = await stack.t.core.platform.users.byEmail(ADMIN.email);
    expect(claims.sub).toBe(user!.id);
  });

  it("issues an RFC 9068 access token for the MCP resource by default", async () => {
    const [header, payload] = tokens.access_token.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
    expect(header).toMatchObject({ typ: "at+jwt", alg: "ES256" });
    expect(payload).toMatchObject({ iss: stack.issuer, aud: stack.mcpResource, client_id: config.clientMetadata().client_id });
    expect(payload.email).toBeUndefined(); // no personal data in access tokens
  });
});

describe("userinfo", () => {
  it("returns the signed-in user's claims for the scopes granted", async () => {
    const claims = tokens.claims()!;
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: ADMIN.email });
  });
});

let refreshed: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;

describe("refresh", () => {
  it("rotates the refresh token and issues a fresh access token", async () => {
    refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const info = await oidc.fetchUserInfo(config, refreshed.access_token, tokens.claims()!.sub);
    expect(info.email).toBe(ADMIN.email);
  });

  it("narrows the scope on request and never widens it", async () => {
    const narrow = await oidc.refreshTokenGrant(config, refreshed.refresh_token!, { scope: "openid mcp:read" });
    expect(narrow.scope?.split(" ").sort()).toEqual(["mcp:read", "openid"]);
    refreshed = narrow;
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!, { scope: "openid mcp:read mcp:execute" }))
      .rejects.toMatchObject({ error: "invalid_scope" });
  });
});

describe("introspection", () => {
  it("tells the authenticated confidential client that its access token is active, with sub, client_id, scope and aud", async () => {
    const res = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(res.active).toBe(true);
    expect(res).toMatchObject({ client_id: config.clientMetadata().client_id, sub: tokens.claims()!.sub, iss: stack.issuer });
    expect(String(res.scope).split(" ")).toContain("mcp:read");
  });

  it("answers active: false for a string that is no token", async () => {
    const res = await oidc.tokenIntrospection(config, "not-a-token");
    expect(res).toEqual({ active: false });
  });
});

describe("revocation", () => {
  it("revoking the access token makes userinfo refuse it at once", async () => {
    await oidc.tokenRevocation(config, refreshed.access_token, { token_type_hint: "access_token" });
    await expect(oidc.fetchUserInfo(config, refreshed.access_token, tokens.claims()!.sub)).rejects.toThrow();
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
  });

  it("revoking the refresh token revokes its grant: the refresh token stops working", async () => {
    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
    expect((await oidc.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(false);
  });

  it("answers 200 for a token it never issued (RFC 7009)", async () => {
    await expect(oidc.tokenRevocation(config, "never-issued")).resolves.toBeUndefined();
  });
});

describe("the error page", () => {
  it("shows a readable page, not a redirect, when the redirect URI is not registered", async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: "https://attacker.example/steal",
      scope: "openid",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const res = await page.goto(url.href);
    expect(res?.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(stack.issuer);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toMatch(/not valid|not recognised/);
    await screenshot(page, "error-page");
  });
});

describe("the pages work without JavaScript", () => {
  it("signs in (after a failed attempt that keeps the email), allows, and signs out with scripts turned off", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await context.newPage();
    try {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: site.redirectUri,
        scope: "openid mcp:read",
        state: "no-js",
        prompt: "login consent",
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
      });
      await noJs.goto(url.href);
      expect(new URL(noJs.url()).pathname).toBe("/oauth/login");
      await noJs.getByLabel("Email").fill(ADMIN.email);
      await noJs.getByLabel("Password").fill("not-the-password");
      await noJs.getByRole("button", { name: "Sign in" }).click();
      await noJs.waitForLoadState();
      expect(await noJs.getByRole("alert").textContent()).toBe("Invalid email or password.");
      expect(await noJs.getByLabel("Email").inputValue()).toBe(ADMIN.email);
      await screenshot(noJs, "login-failed");

      await noJs.getByLabel("Password").fill(ADMIN.password);
      await Promise.all([noJs.waitForURL(/\/oauth\/consent/), noJs.getByRole("button", { name: "Sign in" }).click()]);
      await Promise.all([noJs.waitForURL(/\/callback/), noJs.getByRole("button", { name: "Allow" }).click()]);
      const back = new URL(noJs.url());
      expect(back.searchParams.get("state")).toBe("no-js");
      expect(back.searchParams.get("code")).toBeTruthy();

      await noJs.goto(`${stack.issuer}/oauth/logout`);
      expect(await noJs.getByRole("heading", { level: 1 }).textContent()).toBe("You are signed out");
      await screenshot(noJs, "signed-out");
      expect((await context.cookies()).some((c) => c.name === "meshai_session")).toBe(false);
    } finally {
      await context.close();
    }
  });
});
