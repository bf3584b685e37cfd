import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { acceptRequestId, runWithRequestId } from "../observability/request-context.js";
import { principalKey } from "./auth/policy.js";
import { type CoreTelemetry, tokenRefusalReason } from "./telemetry.js";

/** gRPC status names as Prometheus and grpc-go spell them: OK, NOT_FOUND, ... */
const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v, k === "Canceled" ? "CANCELLED" : k.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()]),
);
const codeName = (code: Code | undefined) => (code === undefined ? "OK" : (CODE_NAMES[code] ?? "UNKNOWN"));

/** Server-side failures: logged at error with the stack; client mistakes are info. */
const SERVER_CODES = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable, Code.Unimplemented]);

/** The health and reflection RPCs are polled by probes and tools: their lines are debug. */
const QUIET_SERVICES = /^grpc\.(health|reflection)\./;

/**
 * The first interceptor: gives the RPC a request id (the facade's `x-request-id`
 * or a new one for direct gRPC callers, echoed back in the response headers)
 * and runs it inside that id, then writes one log line and one metric sample
 * when it ends (server streams: when the stream ends). The line names the
 * caller's subject and client id once the auth interceptor has verified a
 * token; it never holds a header or a message. Also counts tokens issued and
 * refused at the token endpoint, and refusals for a missing scope.
 */
export function createRpcObserver(telemetry: CoreTelemetry): Interceptor {
  const { logger, metrics } = telemetry;
  return (next) => async (req) => {
    const started = process.hrtime.bigint();
    const requestId = acceptRequestId(req.header.get("x-request-id"));
    const service = req.service.typeName;
    const method = req.method.name;

    const done = (err: unknown) => runWithRequestId(requestId, () => report(err));
    const report = (err: unknown) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const ce = err === undefined ? undefined : ConnectError.from(err);
      const code = codeName(ce?.code);
      metrics.rpcRequests.inc({ service, method, code });
      metrics.rpcDuration.observe({ service, method, code }, seconds);
      const principal = req.contextValues.get(principalKey);
      const line = {
        request_id: requestId,
        service,
        method,
        grpc_code: code,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        subject: principal?.subject,
        client_id: principal?.clientId || undefined,
        ...(ce ? { error: ce.rawMessage } : {}),
      };
      if (ce && SERVER_CODES.has(ce.code)) logger.error({ ...line, err: ce.cause instanceof Error ? ce.cause : ce }, "rpc");
      else if (QUIET_SERVICES.test(service)) logger.debug(line, "rpc");
      else logger.info(line, "rpc");

      if (service !== "meshai.v1.AuthService") {
        if (ce?.code === Code.PermissionDenied && tokenRefusalReason(ce) === "insufficient_scope") telemetry.tokenRefused("verification", "insufficient_scope");
        return;
      }
      if (method === "Token") {
        const grantType = req.stream ? "" : String((req.message as { grantType?: unknown }).grantType ?? "");
        if (!ce) telemetry.tokenIssued(grantType);
        else {
          const clientId = req.stream ? undefined : (req.message as { client?: { clientId?: string } }).client?.clientId;
          const reason = ce.metadata.get("oauth-error") ?? codeName(ce.code).toLowerCase();
          telemetry.tokenRefused("token_endpoint", reason, { grant_type: grantType.slice(0, 40) || undefined, client_id: clientId?.slice(0, 100) || undefined });
        }
      } else if (method === "CreateServiceToken" && !ce) telemetry.tokenIssued("service");
    };

    try {
      const res = await runWithRequestId(requestId, () => next(req));
      res.header.set("x-request-id", requestId);
      if (!res.stream) {
        done(undefined);
        return res;
      }
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          let failure: unknown;
          let ended = false;
          try {
            yield* source;
            ended = true;
          } catch (e) {
            failure = e;
            throw e;
          } finally {
            // Stopped early without an error: the client went away (or cancelled).
            done(failure ?? (ended ? undefined : new ConnectError("the client stopped reading the stream", Code.Canceled)));
          }
        })(),
      };
    } catch (e) {
      if (e instanceof ConnectError) e.metadata.set("x-request-id", requestId);
      done(e);
      throw e;
    }
  };
}
