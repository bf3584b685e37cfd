import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * MeshAI's docs (`docs/*.md`) as the search index and the docs pages see
 * them: one doc per file, split into sections at `##` and `###` headings,
 * each section addressable as `doc:<slug>#<anchor>` (the intro as `doc:<slug>`).
 */

/** The docs folder of this checkout or installed package. */
export const DEFAULT_DOCS_DIR = fileURLToPath(new URL("../../../docs/", import.meta.url));

export const DOC_SLUG = /^[a-z0-9][a-z0-9_-]{0,99}$/;

export interface DocSection {
  /** Empty for the intro (text before the first section heading). */
  anchor: string;
  heading: string;
  level: number;
  /** The section's Markdown, heading line included. */
  markdown: string;
}

export interface Doc {
  slug: string;
  title: string;
  markdown: string;
  sections: DocSection[];
  /** Content hash: the index re-reads a doc only when it changed. */
  version: string;
}

/** GitHub-style heading anchors: "Register an A2A agent" -> "register-an-a2a-agent". */
export function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[`*_~[\]()]/g, "")
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .trim()
    .replace(/\s+/g, "-");
}

export function parseDoc(slug: string, markdown: string, version: string): Doc {
  const lines = markdown.replace(/\r\n/g, "\n").split("\n");
  let title = slug;
  const sections: DocSection[] = [];
  let current: DocSection = { anchor: "", heading: "", level: 1, markdown: "" };
  const buffer: string[] = [];
  const seen = new Map<string, number>();
  let fence: string | undefined;
  const flush = () => {
    current.markdown = buffer.join("\n").trim();
    if (current.markdown || current.anchor) sections.push(current);
    buffer.length = 0;
  };
  for (const line of lines) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) fence = fence ? (line.trim().startsWith(fence) ? undefined : fence) : f[1];
    const h = fence ? null : /^(#{1,3})\s+(.+?)\s*#*\s*$/.exec(line);
    if (h && h[1]!.length === 1 && title === slug && sections.length === 0) {
      title = h[2]!.trim();
      buffer.push(line);
      continue;
    }
    if (h && h[1]!.length >= 2) {
      flush();
      const base = anchorOf(h[2]!) || "section";
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      current = { anchor: n ? `${base}-${n}` : base, heading: h[2]!.trim(), level: h[1]!.length, markdown: "" };
    }
    buffer.push(line);
  }
  flush();
  return { slug, title, markdown, sections, version };
}

/** Reads every `*.md` in `dir` (not recursive); a missing folder is an empty corpus. */
export function readDocs(dir: string): Doc[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".md")).sort();
  } catch {
    return [];
  }
  const docs: Doc[] = [];
  for (const name of names) {
    const slug = name.slice(0, -3).toLowerCase();
    if (!DOC_SLUG.test(slug)) continue;
    const text = fs.readFileSync(path.join(dir, name), "utf8");
    const version = `${text.length}:${hash(text)}`;
    docs.push(parseDoc(slug, text, version));
  }
  return docs;
}

/** A fingerprint of the folder (names, sizes, mtimes) to notice edits cheaply. */
export function docsFingerprint(dir: string): string {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".md"))
      .sort()
      .map((n) => {
        const st = fs.statSync(path.join(dir, n));
        return `${n}:${st.size}:${st.mtimeMs}`;
      })
      .join("|");
  } catch {
    return "";
  }
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}
