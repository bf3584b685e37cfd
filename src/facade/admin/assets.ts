import { asset } from "../pages/assets.js";
import { html, type Html } from "../pages/html.js";
import { CONSOLE_STYLESHEET } from "./console-stylesheet.js";
import { LIVE_SCRIPT } from "./live-script.js";
import { SECTION_STYLESHEET } from "./section-styles.js";

/** The console's one stylesheet (the frame's rules, then the sections'), linked after the pages' shared one. */
export const CONSOLE_STYLESHEET_ASSET = asset("/admin/assets/console.css", "text/css; charset=utf-8", CONSOLE_STYLESHEET + SECTION_STYLESHEET);

/** The console's only script: the live parts of the agents and tasks pages. */
export const LIVE_SCRIPT_ASSET = asset("/admin/assets/live.js", "text/javascript; charset=utf-8", LIVE_SCRIPT);

/** The `<script>` tag of the live script, for pages with live parts. */
export function liveScript(): Html {
  return html`<script src="${LIVE_SCRIPT_ASSET.url}" defer></script>`;
}
