import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/core/store/db.js";
import { watchWrites } from "../../src/core/store/write-watch.js";
import { databaseTargets, freshPostgresDatabase } from "../support/postgres.js";

for (const target of databaseTargets()) {
  describe(`on ${target.name}: a write watch moves on every write to its tables made through this knex, and only then`, () => {
    let db: Database;
    let dir: string;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-watch-"));
      let databaseUrl = "";
      if (target.url) {
        const pg = await freshPostgresDatabase(target.url);
        databaseUrl = pg.url;
        drop = pg.drop;
      }
      db = openDatabase({ databaseUrl, sqliteFile: path.join(dir, "watch.db") });
      await db.knex.schema.createTable("watched", (t) => {
        t.string("id").primary();
        t.integer("n");
      });
      await db.knex.schema.createTable("other", (t) => t.string("id").primary());
    });
    afterAll(async () => {
      await db?.close();
      await drop?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("inserts, updates, deletes and raw statements move it; reads and other tables do not", async () => {
      const watch = watchWrites(db.knex, ["watched"]);
      let v = watch.version;
      const moved = () => {
        const m = watch.version !== v;
        v = watch.version;
        return m;
      };
      await db.knex("watched").insert({ id: "a", n: 1 });
      expect(moved()).toBe(true);
      await db.knex("watched").where({ id: "a" }).update({ n: 2 });
      expect(moved()).toBe(true);
      await db.knex.raw("update watched set n = 3");
      expect(moved()).toBe(true);
      await db.knex("watched").select("*");
      await db.knex("other").insert({ id: "x" });
      expect(moved()).toBe(false);
      await db.knex("watched").where({ id: "a" }).delete();
      expect(moved()).toBe(true);
    });

    it("a write inside a transaction moves it again when the transaction ends", async () => {
      const watch = watchWrites(db.knex, ["watched"]);
      let inside = 0;
      await db.knex.transaction(async (trx) => {
        await trx("watched").insert({ id: "t", n: 1 });
        inside = watch.version;
      });
      expect(watch.version).toBeGreaterThan(inside);
    });
  });
}
