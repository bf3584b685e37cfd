import { describe, expect, it } from "vitest";
import type { AgentEvent } from "../../../src/core/agents/adapter.js";
import { type Analysis, analyseTask } from "../../../src/core/agents/builtin/data-analyst.js";
import { createBuiltinAdapter } from "../../../src/core/agents/builtin/index.js";
import { parseDelimited, sniffDelimiter } from "../../../src/core/agents/builtin/tabular-input.js";
import type { AgentRecord } from "../../../src/core/store/agents.js";

const col = (a: Analysis, name: string) => a.columns.find((c) => c.name === name)!;

describe("CSV is parsed as RFC 4180 with the delimiter sniffed", () => {
  it("keeps delimiters, doubled quotes and newlines inside quoted fields", () => {
    expect(parseDelimited('a,b\n"x, y","say ""hi""\nthere"\n', ",")).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"\nthere'],
    ]);
  });

  it.each([
    ["a,b,c\n1,2,3\n4,5,6", ","],
    ["a;b;c\n1,5;2;3\n4;5;6", ";"],
    ["a\tb\n1\t2\n3\t4", "\t"],
    ["a|b\n1|2\n3|4", "|"],
  ])("sniffs %j", (text, delimiter) => {
    expect(sniffDelimiter(text)).toBe(delimiter);
  });
});

describe("descriptive statistics match hand-computed values", () => {
  const csv = [
    "name,units,price,in_stock,city",
    '"Widget, large",10,2.5,true,Paris',
    '"Gadget ""Pro""",20,3.5,false,Berlin',
    "Doohickey,30,,true,Paris",
    "Thing,40,5.5,true,Rome",
  ].join("\n");
  const a = analyseTask(`Compute statistics over this CSV:\n\n${csv}\n\nThanks!`, {});

  it("infers column types and counts rows", () => {
    expect(a.rowCount).toBe(4);
    expect(a.columns.map((c) => [c.name, c.type])).toEqual([
      ["name", "string"],
      ["units", "number"],
      ["price", "number"],
      ["in_stock", "boolean"],
      ["city", "string"],
    ]);
    expect(col(a, "name").top!.map((t) => t.value)).toContain('Gadget "Pro"');
  });

  it("computes count, mean, median, sample std, min, max and quartiles", () => {
    const u = col(a, "units").numeric!;
    expect(u).toMatchObject({ count: 4, missing: 0, sum: 100, mean: 25, median: 25, min: 10, max: 40, q1: 17.5, q3: 32.5 });
    expect(u.std).toBeCloseTo(Math.sqrt(500 / 3), 10); // 12.9099
    const p = col(a, "price").numeric!;
    expect(p).toMatchObject({ count: 3, missing: 1, median: 3.5, min: 2.5, max: 5.5, q1: 3, q3: 4.5 });
    expect(p.mean).toBeCloseTo(11.5 / 3, 10);
    expect(p.std).toBeCloseTo(Math.sqrt(7 / 3), 10); // 1.5275
  });

  it("reports booleans and top categories", () => {
    expect(col(a, "in_stock")).toMatchObject({ trueCount: 3, falseCount: 1 });
    expect(col(a, "city").top).toEqual([
      { value: "Paris", count: 2 },
      { value: "Berlin", count: 1 },
      { value: "Rome", count: 1 },
    ]);
  });

  it("correlates numeric columns over rows where both are present", () => {
    expect(a.correlations).toHaveLength(1);
    expect(a.correlations[0]).toMatchObject({ a: "units", b: "price", n: 3 });
    expect(a.correlations[0]!.r).toBeCloseTo(1, 10);
  });

  it("finds the header on the request's own line", () => {
    const b = analyseTask("compute statistics over this CSV: x,y\n1,2\n2,4\n3,7", {});
    expect(b.columns.map((c) => c.name)).toEqual(["x", "y"]);
    expect(col(b, "y").numeric!.mean).toBeCloseTo(13 / 3, 10);
    expect(b.correlations[0]!.r).toBeCloseTo(5 / Math.sqrt(2 * (38 / 3)), 10); // 0.99340
  });
});

describe("JSON arrays of objects are analysed too", () => {
  it("from the task text", () => {
    const a = analyseTask('Summarise: [{"team":"a","score":1},{"team":"b","score":2},{"team":"a","score":3},{"team":"a","score":null}]', {});
    expect(col(a, "score").numeric).toMatchObject({ count: 3, missing: 1, mean: 2, median: 2, std: 1, min: 1, max: 3 });
    expect(col(a, "team").top![0]).toEqual({ value: "a", count: 3 });
  });

  it("from context.data, as objects or as text", () => {
    const rows = [{ d: "2026-01-02", v: 4 }, { d: "2026-01-01", v: 6 }];
    const a = analyseTask("describe the data", { data: rows });
    expect(col(a, "d")).toMatchObject({ type: "date", earliest: "2026-01-01", latest: "2026-01-02" });
    expect(col(a, "v").numeric!.mean).toBe(5);
    const b = analyseTask("describe the data", { data: "v\n1\n2\n3\n4" });
    expect(col(b, "v").numeric).toMatchObject({ mean: 2.5, q1: 1.75, q3: 3.25 });
  });
});

describe("the analyst runs as a built-in agent", () => {
  const agent = { id: "builtin.data-analyst", config: { builtin: "data-analyst" } } as unknown as AgentRecord;
  const run = async (task: string) => {
    const events: AgentEvent[] = [];
    for await (const e of createBuiltinAdapter().run(agent, { taskId: "t", task, capabilities: ["data_analysis"], context: {}, timeoutMs: 5000, signal: new AbortController().signal })) events.push(e);
    return events;
  };

  it("returns readable text and the statistics as structured data", async () => {
    const events = await run("compute statistics over this CSV:\nitem,qty\napple,3\npear,5\nplum,10");
    const result = events.at(-1) as Extract<AgentEvent, { type: "result" }>;
    expect(result.type).toBe("result");
    expect(result.text).toContain("qty (number): 3 values, 0 missing");
    expect(result.text).toContain("mean 6, median 5");
    expect((result.data as unknown as Analysis).rowCount).toBe(3);
  });

  it("fails clearly when there is no table", async () => {
    await expect(run("compute statistics please")).rejects.toThrow(/no table found/);
  });
});

describe("numbers written with currency, thousands separators or percent signs are numbers", () => {
  it("reads $1,200 and 12.5% as 1200 and 12.5", () => {
    const a = analyseTask("stats please\n```tsv\nitem\tprice\tshare\na\t$1,200\t12.5%\nb\t$800\t7.5%\nc\t$1,000\t80%\n```", {});
    expect(col(a, "price").numeric).toMatchObject({ mean: 1000, min: 800, max: 1200 });
    expect(col(a, "share").numeric!.sum).toBe(100);
  });
});

describe("a bare list of numbers is one column", () => {
  it("computes the statistics of 'mean and std of: 2, 4, 4, 4, 5, 5, 7, 9'", () => {
    const a = analyseTask("What are the mean and standard deviation of: 2, 4, 4, 4, 5, 5, 7, 9", {});
    expect(col(a, "value").numeric).toMatchObject({ count: 8, mean: 5, median: 4.5, min: 2, max: 9 });
    expect(col(a, "value").numeric!.std).toBeCloseTo(Math.sqrt(32 / 7), 10);
  });
});

describe("a request naming a column to group by gets per-group figures", () => {
  it("sums and averages each numeric column per region", () => {
    const a = analyseTask("total sales by region please:\nregion,sales,units\nnorth,10,1\nsouth,20,2\nnorth,30,3\neast,5,\nsouth,40,4", {});
    expect(a.groups!.by).toBe("region");
    expect(a.groups!.groups).toEqual([
      { key: "north", count: 2, numeric: { sales: { count: 2, sum: 40, mean: 20, min: 10, max: 30 }, units: { count: 2, sum: 4, mean: 2, min: 1, max: 3 } } },
      { key: "south", count: 2, numeric: { sales: { count: 2, sum: 60, mean: 30, min: 20, max: 40 }, units: { count: 2, sum: 6, mean: 3, min: 2, max: 4 } } },
      { key: "east", count: 1, numeric: { sales: { count: 1, sum: 5, mean: 5, min: 5, max: 5 } } },
    ]);
  });

  it("takes the column from context.group_by, and ignores 'by' words that name no column", () => {
    const rows = [{ team: "a", pts: 1 }, { team: "b", pts: 3 }, { team: "a", pts: 5 }];
    expect(analyseTask("describe", { data: rows, group_by: "team" }).groups!.groups.map((g) => [g.key, g.numeric.pts!.mean])).toEqual([["a", 3], ["b", 3]]);
    expect(analyseTask("made by hand:\nx,y\n1,2\n3,4\n5,6", {}).groups).toBeUndefined();
  });
});
