import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  errorTable,
  HttpError,
  httpStatusFor,
  jsonRpcCodeFor,
  oauthErrorFor,
  toHttpError,
  toJsonRpcError,
} from "../../src/facade/errors.js";

const allCodes = Object.values(Code).filter((c): c is Code => typeof c === "number");

/** Codes that mean "the caller got something wrong": never a 5xx (rule 6). */
const clientMistakes = [
  Code.Canceled,
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.OutOfRange,
  Code.Unauthenticated,
];

describe("the error table", () => {
  it("has a row for every Connect code", () => {
    expect(allCodes).toHaveLength(16);
    for (const code of allCodes) {
      expect(httpStatusFor(code), Code[code]).toBeGreaterThanOrEqual(400);
      expect(httpStatusFor(code), Code[code]).toBeLessThan(600);
      expect(oauthErrorFor(code), Code[code]).toMatch(/^[a-z_]+$/);
      const rpc = jsonRpcCodeFor(code);
      const standard = [-32600, -32601, -32602, -32603].includes(rpc);
      expect(standard || (rpc <= -32000 && rpc >= -32099), Code[code]).toBe(true);
    }
    expect(Object.keys(errorTable)).toHaveLength(16);
  });

  it("maps client mistakes to 4xx and the rest to 5xx", () => {
    for (const code of allCodes) {
      const status = httpStatusFor(code);
      if (clientMistakes.includes(code)) expect(status, Code[code]).toBeLessThan(500);
      else expect(status, Code[code]).toBeGreaterThanOrEqual(500);
    }
  });

  it("uses the conventional statuses", () => {
    expect(httpStatusFor(Code.InvalidArgument)).toBe(400);
    expect(httpStatusFor(Code.Unauthenticated)).toBe(401);
    expect(httpStatusFor(Code.PermissionDenied)).toBe(403);
    expect(httpStatusFor(Code.NotFound)).toBe(404);
    expect(httpStatusFor(Code.AlreadyExists)).toBe(409);
    expect(httpStatusFor(Code.FailedPrecondition)).toBe(400);
    expect(httpStatusFor(Code.ResourceExhausted)).toBe(429);
    expect(httpStatusFor(Code.Unimplemented)).toBe(501);
    expect(httpStatusFor(Code.Unavailable)).toBe(503);
    expect(httpStatusFor(Code.DeadlineExceeded)).toBe(504);
    expect(oauthErrorFor(Code.Unauthenticated)).toBe("invalid_token");
    expect(jsonRpcCodeFor(Code.InvalidArgument)).toBe(-32602);
    expect(jsonRpcCodeFor(Code.Internal)).toBe(-32603);
    expect(jsonRpcCodeFor(Code.Unauthenticated)).toBe(-32016);
  });
});

describe("toHttpError", () => {
  it("passes a 4xx message through, naming the bad field", () => {
    const err = new ConnectError("redirect_uri is not registered", Code.InvalidArgument);
    expect(toHttpError(err, "r")).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "redirect_uri is not registered", request_id: "r" },
    });
  });

  it("lets metadata oauth-error override the table's OAuth code", () => {
    const err = new ConnectError("bad secret", Code.Unauthenticated, { "oauth-error": "invalid_client" });
    expect(toHttpError(err).body).toMatchObject({ error: "invalid_client", error_description: "bad secret" });
  });

  it("ignores a malformed oauth-error override", () => {
    const err = new ConnectError("x", Code.InvalidArgument, { "oauth-error": "Bad Code\"" });
    expect(toHttpError(err).body.error).toBe("invalid_request");
  });

  it("never shows a 5xx message", () => {
    for (const code of [Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable, Code.Unimplemented]) {
      const { body } = toHttpError(new ConnectError("pg: password authentication failed", code));
      expect(body.error_description).not.toContain("password");
    }
    expect(toHttpError(new Error("secret")).body).toEqual({ error: "server_error", error_description: "internal error" });
  });

  it("renders the facade's own HTTP errors and Koa's http-errors", () => {
    expect(toHttpError(new HttpError(413, "invalid_request", "too big"))).toEqual({
      status: 413,
      body: { error: "invalid_request", error_description: "too big" },
    });
    const koaStyle = Object.assign(new Error("Unsupported Media Type"), { status: 415, expose: true });
    expect(toHttpError(koaStyle).status).toBe(415);
  });
});

describe("toJsonRpcError", () => {
  it("uses the same table and the same secrecy", () => {
    expect(toJsonRpcError(new ConnectError("query: required", Code.InvalidArgument), "r")).toEqual({
      code: -32602,
      message: "query: required",
      data: { request_id: "r" },
    });
    expect(toJsonRpcError(new ConnectError("stack trace", Code.Internal))).toEqual({
      code: -32603,
      message: "internal error",
    });
  });
});
