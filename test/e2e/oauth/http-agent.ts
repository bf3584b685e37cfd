// Moved to test/support so flows outside the OAuth tests (the log secrets test) can reuse it.
export { HttpAgent, hiddenFields } from "../../support/http-agent.js";
