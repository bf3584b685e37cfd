import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutboundBlockedError, createOutboundFetch, isPublicAddress, readLimited } from "../../src/core/net/outbound.js";

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "http://127.0.0.1:1/" }).end();
    } else if (req.url === "/big") {
      res.end("x".repeat(10_000));
    } else {
      res.end("hello");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("which addresses count as public", () => {
  it.each([
    ["127.0.0.1", false],
    ["10.1.2.3", false],
    ["172.16.0.1", false],
    ["192.168.1.1", false],
    ["169.254.169.254", false],
    ["100.64.0.1", false],
    ["0.0.0.0", false],
    ["::1", false],
    ["fc00::1", false],
    ["fe80::1", false],
    ["::ffff:127.0.0.1", false],
    ["8.8.8.8", true],
    ["2606:4700::1111", true],
  ])("%s is public: %s", (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe("outbound calls refuse private destinations unless configured", () => {
  const guarded = createOutboundFetch({ allowPrivateNetwork: false, timeoutMs: 2000 });

  it("refuses a loopback IP literal", async () => {
    await expect(guarded(`${base}/`)).rejects.toBeInstanceOf(OutboundBlockedError);
  });

  it("refuses a host name that resolves to loopback", async () => {
    // 'vm' and 'runsc' map to 127.0.0.1 in this machine's hosts file; 'localhost' is refused by name.
    await expect(guarded(base.replace("127.0.0.1", "localhost"))).rejects.toBeInstanceOf(OutboundBlockedError);
    await expect(guarded(base.replace("127.0.0.1", "vm"))).rejects.toBeInstanceOf(OutboundBlockedError);
  });

  it("refuses non-http schemes and URLs with credentials", async () => {
    await expect(guarded("file:///etc/passwd")).rejects.toBeInstanceOf(OutboundBlockedError);
    await expect(guarded("https://user:pw@example.com/")).rejects.toBeInstanceOf(OutboundBlockedError);
  });

  it("reaches loopback when private networks are allowed, but never follows a redirect", async () => {
    const open = createOutboundFetch({ allowPrivateNetwork: true, timeoutMs: 2000 });
    expect(await (await open(`${base}/`)).text()).toBe("hello");
    await expect(open(`${base}/redirect`)).rejects.toBeInstanceOf(OutboundBlockedError);
  });

  it("caps how much of a response is read", async () => {
    const open = createOutboundFetch({ allowPrivateNetwork: true, timeoutMs: 2000 });
    await expect(readLimited(await open(`${base}/big`), 5000)).rejects.toThrow(/larger than 5000/);
    expect(await readLimited(await open(`${base}/`), 5000)).toBe("hello");
  });
});
