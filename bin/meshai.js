#!/usr/bin/env node
// The `meshai` command. TypeScript sources run through tsx's loader, so the
// installed package and a checkout behave the same with no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
await main(process.argv);
