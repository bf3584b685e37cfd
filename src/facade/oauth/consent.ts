import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import { ClientRegistration, type Client } from "../../../gen/meshai/v1/auth_pb.js";
import type { RouteDeps } from "../app.js";
import { HttpError } from "../errors.js";
import { consentPage } from "../pages/consent-page.js";
import type { Cookies } from "./cookies.js";
import { checkCsrf, interactionIdOf, pageCsrf } from "./interaction-page.js";
import { formOf, single } from "./params.js";
import { seeOther, sendPage } from "./responses.js";

const SIGNED_OUT = "Your MeshAI sign-in has ended. Start again from your app.";

/** How the client came to be known, so the user can judge it. */
function clientOrigin(client: Client | undefined): string {
  switch (client?.registration) {
    case ClientRegistration.METADATA_DOCUMENT:
      return URL.canParse(client.clientId) ? `Metadata document at ${new URL(client.clientId).host}` : "Metadata document";
    case ClientRegistration.DYNAMIC:
      return "Registered itself (not verified by MeshAI)";
    case ClientRegistration.ADMIN:
      return "Added by your administrator";
    default:
      return "";
  }
}

/**
 * GET /oauth/consent shows who is asking for what (client, redirect host,
 * scopes in plain words, the signed-in account); POST records the decision
 * through the core and 303s back to the client with a code or access_denied.
 */
export function consentRoutes(router: Router, { core }: RouteDeps, cookies: Cookies, browser: Middleware): void {
  router.get("/oauth/consent", browser, async (ctx) => {
    const { id, csrf } = pageCsrf(ctx, cookies);
    const sessionToken = cookies.session(ctx);
    if (!sessionToken) throw new ConnectError(SIGNED_OUT, Code.PermissionDenied);
    const { interaction } = await core.auth.getInteraction({ id, sessionToken });
    if (!interaction) throw new ConnectError("interaction: not found; start again from your app", Code.NotFound);
    if (!interaction.user) throw new ConnectError(SIGNED_OUT, Code.PermissionDenied);
    sendPage(
      ctx,
      consentPage({
        interactionId: interaction.id,
        csrfToken: csrf,
        clientName: interaction.client?.clientName || interaction.client?.clientId || "An app",
        clientId: interaction.client?.clientId ?? "",
        clientOrigin: clientOrigin(interaction.client),
        redirectHost: interaction.redirectHost,
        scopes: interaction.scopes.map((s) => ({ scope: s.scope, description: s.description || s.scope })),
        userEmail: interaction.user.email,
      }),
    );
  });

  router.post("/oauth/consent", browser, async (ctx) => {
    const form = formOf(ctx);
    const id = interactionIdOf(form);
    const csrf = checkCsrf(ctx, cookies, form);
    const decision = single(form, "decision");
    if (decision !== "approve" && decision !== "deny") {
      throw new HttpError(400, "invalid_request", "decision: must be approve or deny");
    }
    const sessionToken = cookies.session(ctx);
    if (!sessionToken) throw new ConnectError(SIGNED_OUT, Code.PermissionDenied);
    const { redirectTo } = await core.auth.decideConsent({
      interactionId: id,
      csrfToken: csrf,
      sessionToken,
      approve: decision === "approve",
    });
    cookies.clearCsrf(ctx);
    seeOther(ctx, redirectTo);
  });
}
