/**
 * The pages' only stylesheet, served by the facade itself
 * (CSP `style-src 'self'`: no inline styles, nothing from third parties).
 * System fonts, works in light and dark mode, readable without it too.
 */
import { asset } from "./assets.js";

const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --bg: #f4f6fa; --card: #ffffff;
  --line: #d9dee8; --accent: #2f5bd3; --accent-fg: #ffffff; --danger: #b3261e; --danger-bg: #fdecea; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --muted: #a3abbb; --bg: #12151c; --card: #1b2029; --line: #2e3543;
    --accent: #7aa2ff; --accent-fg: #0b1020; --danger: #ffb4ab; --danger-bg: #3a1d1b; }
}
* { box-sizing: border-box; }
html { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
body { margin: 0; min-height: 100vh; background: var(--bg); color: var(--fg);
  display: flex; flex-direction: column; align-items: center; padding: 48px 16px; }
main { width: 100%; max-width: 420px; background: var(--card); border: 1px solid var(--line);
  border-radius: 12px; padding: 32px; box-shadow: 0 1px 3px rgba(0,0,0,.06); }
.brand { display: flex; align-items: center; gap: 10px; margin-bottom: 24px; font-weight: 650;
  font-size: 1.05rem; letter-spacing: .01em; }
.brand-mark { width: 28px; height: 28px; border-radius: 8px; background: var(--accent); color: var(--accent-fg);
  display: inline-flex; align-items: center; justify-content: center; font-size: .9rem; }
h1 { font-size: 1.35rem; line-height: 1.3; margin: 0 0 8px; }
p { margin: 0 0 16px; }
.muted { color: var(--muted); font-size: .93rem; }
label { display: block; font-weight: 600; font-size: .93rem; margin: 16px 0 6px; }
input[type=email], input[type=password], input[type=text] { width: 100%; font: inherit; padding: 10px 12px;
  border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg); }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.actions { display: flex; gap: 12px; margin-top: 24px; }
button { flex: 1; font: inherit; font-weight: 600; padding: 10px 16px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); }
button.secondary { background: transparent; color: var(--fg); border-color: var(--line); }
.alert { border-radius: 8px; padding: 10px 12px; margin: 0 0 16px; background: var(--danger-bg); color: var(--danger);
  border: 1px solid currentColor; font-size: .93rem; }
ul.scopes { list-style: none; padding: 0; margin: 0 0 16px; border: 1px solid var(--line); border-radius: 8px; }
ul.scopes li { padding: 10px 12px; border-top: 1px solid var(--line); }
ul.scopes li:first-child { border-top: 0; }
ul.scopes code { display: block; font-size: .8rem; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0 0 16px; font-size: .93rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
footer { margin-top: 16px; font-size: .85rem; color: var(--muted); text-align: center; max-width: 420px; }
footer a, main a { color: var(--accent); }
@media (max-width: 480px) { body { padding: 16px 12px; } main { padding: 24px 20px; } }
/* Docs pages (/docs/<slug>): a wider card for reading, scrollable code and tables. */
main:has(article.doc), main:has(> ul:not(.scopes)) { max-width: 860px; }
article.doc pre { overflow-x: auto; padding: 10px 12px; border: 1px solid var(--line); border-radius: 8px; font-size: .85rem; }
article.doc table { border-collapse: collapse; display: block; overflow-x: auto; font-size: .9rem; }
article.doc th, article.doc td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
article.doc blockquote { margin: 0 0 16px; padding-left: 12px; border-left: 3px solid var(--line); color: var(--muted); }
`;

export const STYLESHEET_ASSET = asset("/oauth/assets/meshai.css", "text/css; charset=utf-8", STYLESHEET);
