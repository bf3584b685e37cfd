import { describe, expect, it } from "vitest";
import { runConformance } from "./conformance/run.js";

// The official MCP conformance runner needs Node 22 and is not a project dependency: CI installs it
// (`npm i --prefix DIR @modelcontextprotocol/conformance node@22`) and sets MESHAI_CONFORMANCE_DIR.
const dir = process.env.MESHAI_CONFORMANCE_DIR;

describe.skipIf(!dir)("the official MCP conformance runner passes every generic server scenario, with authentication on", () => {
  it("server-initialize, ping, tools-list, logging-set-level, dns-rebinding-protection and server-sse-multiple-streams pass; only fixture scenarios are expected failures", { timeout: 240_000 }, async () => {
    const { code, output } = await runConformance(dir!);
    for (const scenario of ["server-initialize", "ping", "tools-list", "logging-set-level", "dns-rebinding-protection", "server-sse-multiple-streams"]) {
      expect(output).toMatch(new RegExp(`✓ ${scenario}: \\d+ passed, 0 failed`));
    }
    expect(code, output.slice(-3000)).toBe(0);
  });
});
