import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import type { ConsoleFrame } from "./frame.js";

export function clientConsole(_router: Router, _deps: RouteDeps, _frame: ConsoleFrame): void {}
