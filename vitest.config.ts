import { defineConfig } from "vitest/config";

/**
 * Two projects. "all" is every test file, with e2e facades dialing the core
 * over h2c as `--role facade` does. "in-process" runs the end-to-end suites
 * of the facade's main paths again over the in-process link `meshai serve`
 * uses by default (test/support/core.ts facadeCoreLink), so both ways from
 * the facade to the core are tested on every run.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "all", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "in-process",
          include: [
            "test/e2e/mcp/{auth,oauth-flow,tools,transport,legacy-sse}.test.ts",
            "test/e2e/oauth/{mcp-sdk,attacks,chatgpt-shaped}.test.ts",
            "test/e2e/admin/scenario.test.ts",
          ],
          env: { MESHAI_TEST_CORE_LINK: "in-process" },
        },
      },
    ],
  },
});
