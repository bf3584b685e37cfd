import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Every module specifier a TypeScript file names: static, side-effect, dynamic, re-export, require. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1]!);
  return found;
}

function tsFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" });
  } catch {
    return []; // the folder does not exist yet
  }
  return names.filter((n) => n.endsWith(".ts")).map((n) => path.join(root, dir, n));
}

/** `file imports spec` pairs where spec is a package in `packages` or a path inside `folder`. */
function violations(dir: string, folder: string, packages: RegExp): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(dir)) {
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      const intoFolder = spec.startsWith(".") && path.resolve(path.dirname(file), spec).startsWith(path.join(root, folder) + path.sep);
      if (intoFolder || packages.test(spec)) bad.push(`${path.relative(root, file)} imports ${spec}`);
    }
  }
  return bad;
}

const databaseClients = /^(knex|sqlite3|pg|pg-[\w-]+|better-sqlite3|@types\/pg)(\/|$)/;
const facadeStack = /^(koa|koa-[\w-]+|@koa\/[\w-]+|@modelcontextprotocol\/sdk)(\/|$)/;

describe("architecture rule 1: facade and core stay apart", () => {
  it("the facade imports nothing from the core or a database client", () => {
    expect(tsFiles("src/facade").length).toBeGreaterThan(0);
    expect(violations("src/facade", "src/core", databaseClients)).toEqual([]);
  });

  it("the core imports nothing from the facade, Koa or the MCP SDK", () => {
    expect(violations("src/core", "src/facade", facadeStack)).toEqual([]);
  });

  it("src/observability, which both halves import, imports neither half, Koa, the MCP SDK nor a database client", () => {
    expect(tsFiles("src/observability").length).toBeGreaterThan(0);
    const neutral = new RegExp(`${databaseClients.source}|${facadeStack.source}`);
    expect([...violations("src/observability", "src/core", neutral), ...violations("src/observability", "src/facade", neutral)]).toEqual([]);
  });

  it("the scanner sees every import form it checks", () => {
    const sample = `
      import knex from "knex";
      import type { X } from '../core/store/db.js';
      import "pg";
      export { y } from "@koa/router";
      const m = await import("@modelcontextprotocol/sdk/server/mcp.js");
      const s = require("sqlite3");`;
    expect(importsOf(sample)).toEqual(
      expect.arrayContaining(["knex", "../core/store/db.js", "pg", "@koa/router", "@modelcontextprotocol/sdk/server/mcp.js", "sqlite3"]),
    );
    expect(["knex", "pg/lib", "sqlite3", "pg-pool"].every((p) => databaseClients.test(p))).toBe(true);
    expect(["koa", "@koa/router", "koa-helmet", "@modelcontextprotocol/sdk/types.js"].every((p) => facadeStack.test(p))).toBe(true);
    expect(["pgp", "koala", "@connectrpc/connect"].some((p) => databaseClients.test(p) || facadeStack.test(p))).toBe(false);
  });
});
