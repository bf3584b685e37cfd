import { create, type JsonObject } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type Doc as DocMessage, DocSchema, type MeshService, SearchResultSchema } from "../../../gen/meshai/v1/mesh_pb.js";
import { hasScope, principalOf } from "../auth/policy.js";
import type { Doc } from "./docs-corpus.js";
import type { SearchIndex, SearchScope } from "./search.js";

/** Admins holding mcp:manage see every task; everyone else only their own. */
export function searchScope(ctx: HandlerContext): SearchScope {
  const p = principalOf(ctx);
  const seesAll = hasScope(p, "mcp:manage") && (!p.user || p.user.admin);
  return { owner: seesAll ? null : p.subject };
}

function docMessage(search: SearchIndex, d: Doc, withText: boolean): DocMessage {
  return create(DocSchema, {
    slug: d.slug,
    title: d.title,
    markdown: withText ? d.markdown : "",
    url: search.urlOf(`/docs/${d.slug}`),
    sections: d.sections.filter((s) => s.anchor).map((s) => ({ anchor: s.anchor, heading: s.heading, level: s.level })),
  });
}

/** MeshService.Search, Fetch, GetDoc and ListDocs over the search index. */
export function createSearchHandlers(search: SearchIndex): Pick<ServiceImpl<typeof MeshService>, "search" | "fetch" | "getDoc" | "listDocs"> {
  return {
    async getDoc(req) {
      return { doc: docMessage(search, await search.getDoc(req.slug), true) };
    },
    async listDocs() {
      return { docs: (await search.listDocs()).map((d) => docMessage(search, d, false)) };
    },
    async search(req, ctx) {
      const hits = await search.search({ query: req.query, type: req.type, limit: req.limit }, searchScope(ctx));
      return {
        results: hits.map((h) => create(SearchResultSchema, { id: h.id, title: h.title, url: h.url, type: h.kind, snippet: h.snippet, score: h.score })),
      };
    },
    async fetch(req, ctx) {
      const item = await search.fetch(req.id, searchScope(ctx));
      return { id: item.id, title: item.title, text: item.text, url: item.url, metadata: JSON.parse(JSON.stringify(item.metadata)) as JsonObject };
    },
  };
}
