import { exportJWK, generateKeyPair } from "jose";
import * as oidc from "openid-client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientSite, type OAuthStack, launchBrowser, screenshot, startClientSite, startOAuthStack } from "./harness.js";

// A client shaped like ChatGPT's connector: its client_id is the URL of a Client ID Metadata Document,
// it authenticates with private_key_jwt (RS256, keys at its jwks_uri) and asks for resource=<issuer>/v1/mcp.
// The document is served from loopback, so the core runs with MESHAI_ALLOW_PRIVATE_NETWORK=true.
let stack: OAuthStack;
let site: ClientSite;
let browser: Browser;
let page: Page;
let config: oidc.Configuration;
let clientId: string;

const insecure = { execute: [oidc.allowInsecureRequests] };
const SCOPE = "openid email offline_access profile";
const KID = "connector-key-1";

beforeAll(async () => {
  [stack, site, browser] = await Promise.all([startOAuthStack({ MESHAI_ALLOW_PRIVATE_NETWORK: "true" }), startClientSite(), launchBrowser()]);
  page = await browser.newPage();
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const base = site.origin.replace("localhost", "127.0.0.1");
  clientId = `${base}/oauth/connector/client.json`;
  site.documents.set("/oauth/connector/client.json", {
    client_id: clientId,
    client_name: "Connector (metadata document)",
    redirect_uris: [site.redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "private_key_jwt",
    token_endpoint_auth_signing_alg: "RS256",
    jwks_uri: `${base}/oauth/connector/jwks.json`,
  });
  site.documents.set("/oauth/connector/jwks.json", { keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" }] });
  config = await oidc.discovery(new URL(stack.issuer), clientId, { token_endpoint_auth_signing_alg: "RS256" }, oidc.PrivateKeyJwt({ key: privateKey, kid: KID }), insecure);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await stack?.close();
});

const verifier = oidc.randomPKCECodeVerifier();
let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;

describe("a Client ID Metadata Document client signs a person in without registering first", () => {
  it("the consent page names the document's host; the code comes back with iss", async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: site.redirectUri,
      scope: SCOPE,
      resource: stack.mcpResource,
      state: "cimd",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    site.linkTo(url.href);
    await page.goto(site.origin);
    await Promise.all([page.waitForURL(/\/oauth\/login/), page.click("#connect")]);
    await page.getByLabel("Email").fill("admin@example.com");
    await page.getByLabel("Password").fill("admin-password-1");
    await Promise.all([page.waitForURL(/\/oauth\/consent/), page.getByRole("button", { name: "Sign in" }).click()]);
    const facts = await page.locator("dl.facts").textContent();
    expect(facts).toContain("Connector (metadata document)");
    expect(facts).toContain(`Metadata document at ${new URL(clientId).host}`);
    // The card stays narrow (the docs pages' wider card must not catch the consent page).
    expect(await page.locator("main").evaluate((e) => e.getBoundingClientRect().width)).toBeLessThanOrEqual(420);
    await screenshot(page, "cimd-consent");
    await Promise.all([page.waitForURL(/\/callback/), page.getByRole("button", { name: "Allow" }).click()]);
    const back = site.callbacks.at(-1)!;
    expect(back.searchParams.get("iss")).toBe(stack.issuer);
    tokens = await oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: "cimd" }, { resource: stack.mcpResource });
  });

  it("authenticates at the token endpoint with private_key_jwt and gets tokens for the MCP resource", async () => {
    expect(tokens.refresh_token).toBeTruthy();
    const payload = JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString());
    expect(payload).toMatchObject({ aud: stack.mcpResource, client_id: clientId });
    expect(tokens.scope?.split(" ").sort()).toEqual(SCOPE.split(" ").sort());
  });

  it("refreshes with a fresh assertion", async () => {
    const next = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: stack.mcpResource });
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    const info = await oidc.fetchUserInfo(config, next.access_token, tokens.claims()!.sub);
    expect(info.email).toBe("admin@example.com");
  });
});
