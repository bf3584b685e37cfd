import { describe, expect, it } from "vitest";
import { inferCapabilities } from "../../../src/core/mesh/infer.js";

describe("capabilities are inferred from the seed's example requests", () => {
  it.each([
    ["analyze this code for security vulnerabilities", "security_analysis"],
    ["Use mesh_execute to analyze this code for security vulnerabilities", "security_analysis"],
    ["analyze this code for security vulnerabilities:\n```js\nconst q = 'SELECT * FROM t WHERE id=' + id;\n```", "security_analysis"],
    ["Check this Python snippet for SQL injection and hard-coded secrets:\nimport os\ndef f(x):\n    os.system(x)", "security_analysis"],
    ["Is this code safe?\n```php\n<?php echo $_GET['q'];\n```", "security_analysis"],
    ["Does this config leak any secrets or API keys?", "security_analysis"],
    ["What are the mean and standard deviation of: 2, 4, 4, 4, 5, 5, 7, 9", "data_analysis"],
    ["compute statistics over this CSV: name,age\nAnn,31\nBob,25\nCy,40", "data_analysis"],
    ["Here is my sales data, what are the mean and median per column?\nregion,sales\nN,10\nS,20\nW,30", "data_analysis"],
    ["run a data analysis on this dataset", "data_analysis"],
    ["How do I connect ChatGPT to MeshAI?", "documentation"],
    ["where in the MeshAI docs is routing explained", "documentation"],
    ["How does MeshAI's circuit breaker work?", "documentation"],
    ["Why is the sky blue?", "text_generation"],
    ["Write a Python function that parses ISO dates", "code_generation"],
    ["Generate an image of a lighthouse at dusk", "image_generation"],
    ["Solve this logic puzzle step by step", "reasoning"],
    ["Write a short poem about spring", "text_generation"],
    ["hello there", "text_generation"],
  ])("%j -> %s", (text, capability) => {
    expect(inferCapabilities(text)).toEqual([capability]);
  });
});
