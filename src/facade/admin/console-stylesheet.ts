/**
 * The admin console's additions to the pages' stylesheet, served after the
 * shared one (see assets.ts): a wide frame with a
 * navigation bar, tables, inline forms and flash messages. Self-served
 * (CSP `style-src 'self'`), works in light and dark mode.
 */
export const CONSOLE_STYLESHEET = `
body.console { padding: 0; align-items: stretch; }
body.console > header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 12px 24px;
  background: var(--card); border-bottom: 1px solid var(--line); }
body.console > header .brand { margin: 0; color: var(--fg); text-decoration: none; }
body.console nav ul { display: flex; flex-wrap: wrap; gap: 4px; list-style: none; margin: 0; padding: 0; }
body.console nav a { display: block; padding: 6px 10px; border-radius: 8px; color: var(--fg); text-decoration: none; font-size: .95rem; }
body.console nav a:hover { background: var(--bg); }
body.console nav a[aria-current=page] { background: var(--accent); color: var(--accent-fg); }
body.console .who { margin-left: auto; display: flex; align-items: center; gap: 10px; font-size: .9rem; color: var(--muted); }
body.console .who form { margin: 0; }
body.console main { max-width: 1200px; margin: 24px auto; width: calc(100% - 32px); }
body.console h1 { margin-bottom: 16px; }
body.console h2 { font-size: 1.1rem; margin: 24px 0 8px; }
body.console button { flex: 0 0 auto; }
button.small, a.button.small { padding: 4px 10px; font-size: .85rem; font-weight: 600; }
button.danger { background: var(--danger); border-color: var(--danger); color: var(--card); }
a.button { display: inline-block; border-radius: 8px; padding: 10px 16px; font-weight: 600; text-decoration: none;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); }
a.button.secondary { background: transparent; color: var(--fg); border-color: var(--line); }
.flash { border-radius: 8px; padding: 10px 12px; margin: 0 0 16px; border: 1px solid var(--accent); font-size: .93rem; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 16px; }
table.list { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.list th, table.list td { padding: 8px 10px; text-align: left; vertical-align: top; border-top: 1px solid var(--line); }
table.list thead th { border-top: 0; color: var(--muted); font-weight: 600; white-space: nowrap; }
table.list td.row-actions { white-space: nowrap; }
table.list td form { display: inline; margin: 0; }
table.list .empty { color: var(--muted); text-align: center; padding: 24px; }
.wrap { overflow-wrap: break-word; word-break: normal; }
table.list td.wrap { max-width: 360px; }
form.filters a { align-self: center; }
.tag { display: inline-block; padding: 1px 8px; border-radius: 999px; border: 1px solid var(--line); font-size: .8rem; white-space: nowrap; }
.tag.on { border-color: var(--accent); color: var(--accent); }
.tag.off { border-color: var(--danger); color: var(--danger); }
form.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px 12px; margin: 0 0 16px; }
form.filters label { margin: 0 0 4px; }
form.filters input[type=text], form.filters input[type=search] { width: auto; min-width: 220px; }
form.stack { max-width: 420px; }
input[type=search] { font: inherit; padding: 10px 12px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg); }
label.check { display: flex; align-items: center; gap: 8px; font-weight: 600; }
.toolbar { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 0 0 16px; }
.pager { display: flex; gap: 12px; margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; margin: 0 0 16px; }
.cards a { display: block; padding: 16px; border: 1px solid var(--line); border-radius: 10px; color: var(--fg); text-decoration: none; }
.cards a:hover { border-color: var(--accent); }
.cards .count { display: block; font-size: 1.8rem; font-weight: 650; color: var(--accent); }
.confirm { border: 1px solid var(--danger); border-radius: 10px; padding: 16px; margin: 0 0 16px; max-width: 640px; }
.inline-actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; margin: 0 0 16px; }
.inline-actions form { margin: 0; }
@media (max-width: 640px) { body.console > header { padding: 12px; } body.console .who { margin-left: 0; } }
`;
