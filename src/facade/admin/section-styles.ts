/**
 * Styles of the agents and tasks sections (output blocks, event rows), served
 * as part of the console's stylesheet (see assets.ts).
 */
export const SECTION_STYLESHEET = `
body.console [hidden] { display: none !important; }
body.console input[type=url], body.console input[type=number] { width: 100%; font: inherit; padding: 10px 12px;
  border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg); }
body.console input[type=number] { max-width: 140px; }
body.console pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 16px; padding: 10px 12px; border: 1px solid var(--line);
  border-radius: 8px; font-size: .85rem; max-height: 420px; overflow-y: auto; }
body.console pre:empty::before { content: "—"; color: var(--muted); }
td.pre { white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
form.inline-actions { align-items: center; }
form.inline-actions input[type=text] { width: auto; min-width: 260px; }
body.console select { font: inherit; padding: 9px 10px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg); }
body.console textarea { width: 100%; font: inherit; padding: 10px 12px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg); }
tr[data-type=completed] td:nth-child(3) { color: var(--accent); font-weight: 600; }
tr[data-type=failed] td:nth-child(3), tr[data-type=cancelled] td:nth-child(3) { color: var(--danger); font-weight: 600; }
`;
