import type { ConsoleRoutes } from "./kit.js";

/** Placeholder until Console B lands this section (see /work/coord/CONSOLE-CONTRACT.md). */
export const agentConsole: ConsoleRoutes = () => {};
