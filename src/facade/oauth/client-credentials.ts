import type { Context } from "koa";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ClientCredentialsSchema } from "../../../gen/meshai/v1/auth_pb.js";
import { HttpError } from "../errors.js";
import { type Params, single } from "./params.js";

export type ClientCredentialsInit = MessageInitShape<typeof ClientCredentialsSchema>;

const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

function invalidRequest(why: string): HttpError {
  return new HttpError(400, "invalid_request", why);
}

/** RFC 6749 2.3.1: the Basic user and password are form-urlencoded before base64. */
function formDecode(part: string, what: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, " "));
  } catch {
    throw invalidRequest(`authorization header: the ${what} is not valid form-urlencoding`);
  }
}

function basicCredentials(header: string): { id: string; secret: string } | undefined {
  const m = /^Basic[ ]+([A-Za-z0-9+/]+=*)[ ]*$/i.exec(header);
  if (!m) {
    if (/^Basic\b/i.test(header)) throw invalidRequest("authorization header: Basic credentials are malformed");
    return undefined;
  }
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw invalidRequest("authorization header: Basic credentials need client_id:client_secret");
  return { id: formDecode(decoded.slice(0, colon), "client_id"), secret: formDecode(decoded.slice(colon + 1), "client_secret") };
}

/**
 * How the client authenticated at a token, revocation or introspection
 * endpoint, exactly as the request shows it: a Basic header, a secret or an
 * assertion in the body, or a bare client_id (public client). More than one
 * method at once is refused (RFC 6749 2.3). Whether the credentials are good
 * is the core's decision.
 */
export function clientCredentialsOf(ctx: Context, form: Params, endpoint: string): ClientCredentialsInit {
  const bodyId = single(form, "client_id");
  const bodySecret = single(form, "client_secret");
  const assertionType = single(form, "client_assertion_type");
  const assertion = single(form, "client_assertion");
  const basic = basicCredentials(ctx.get("authorization"));

  const methods = [basic, bodySecret, assertion || assertionType].filter(Boolean).length;
  if (methods > 1) throw invalidRequest("client authentication: use exactly one method (Basic header, client_secret or client_assertion)");

  if (basic) {
    if (bodyId && bodyId !== basic.id) throw invalidRequest("client_id: differs from the one in the authorization header");
    return { clientId: basic.id, clientSecret: basic.secret, method: "client_secret_basic", endpoint };
  }
  if (assertion || assertionType) {
    if (assertionType !== JWT_BEARER_ASSERTION) throw invalidRequest(`client_assertion_type: must be ${JWT_BEARER_ASSERTION}`);
    if (!assertion) throw invalidRequest("client_assertion: missing");
    return { clientId: bodyId, clientAssertionType: assertionType, clientAssertion: assertion, method: "private_key_jwt", endpoint };
  }
  if (bodySecret) return { clientId: bodyId, clientSecret: bodySecret, method: "client_secret_post", endpoint };
  return { clientId: bodyId, method: "none", endpoint };
}
