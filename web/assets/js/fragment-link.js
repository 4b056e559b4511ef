// Emailed one-time links (/account-recovery/verify, later /account-recovery/not-me) carry
// their parameters in the URL fragment, which browsers never send to a server or in a Referer.
// A page for such a link takes them out of the address bar at once (so they are not left in
// history, bookmarks or screen shares) and acts only when the person presses its button: a
// mail scanner or a link preview that opens the link changes nothing.
import { postJson } from "./api.js";
import { focusStatus, say, sayWithLink, setBusy, waitText } from "./ui.js";

/** The named parameters of the fragment (null if any is missing); the fragment is removed. */
export function takeLinkParams(names) {
  const params = new URLSearchParams(window.location.hash.slice(1));
  if (window.location.hash) {
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  }
  const values = {};
  for (const name of names) {
    const value = params.get(name);
    if (!value) return null;
    values[name] = value;
  }
  return values;
}

/**
 * Take the link's parameters now, and again whenever another link is opened in this tab (a
 * new fragment on the same page fires only "hashchange"). Each press of `button` POSTs
 * `body(params)` to `path` and explains the answer with the page's `messages`: done and
 * nextText/nextHref (200), invalid and restartText/restartHref (400, or an incomplete link).
 * The parameters live in memory only, so after 403, 429 and 5xx answers the button can be
 * pressed again (after Retry-After for 429, and for a 400 with Retry-After: the genuine link
 * under its cool-down, which says from when it works).
 */
export function confirmLinkOnPress(button, { names, path, body, messages }) {
  let params = null;
  const open = () => {
    // Strip only: a bare hashchange with no fragment left is our own replaceState at work.
    const opened = Boolean(window.location.hash);
    const taken = takeLinkParams(names);
    if (taken !== null) {
      params = taken;
      button.hidden = false;
      setBusy(button, false);
      say("");
    } else if (opened || params === null) {
      params = null;
      button.hidden = true;
      sayWithLink(
        "This link is incomplete. Open the link from the email again, exactly as sent, or",
        messages.restartText.toLowerCase(),
        messages.restartHref,
        "error",
      );
    }
  };
  window.addEventListener("hashchange", open);
  open();
  button.addEventListener("click", async () => {
    setBusy(button, true);
    say("Working… this takes a few seconds.");
    const answer = await postJson(path, await body(params));
    explain(answer, button, messages);
  });
}

function explain(answer, button, messages) {
  if (answer.status === 200) {
    button.hidden = true;
    sayWithLink(messages.done, messages.nextText, messages.nextHref, "ok");
    focusStatus();
  } else if (answer.status === 400 && answer.retryAfter) {
    const when = typeof answer.body?.detail === "string" ? answer.body.detail : "This link does not work yet";
    sayAndWait(answer, button, (wait) => `${when}. It is not used up: press the button again in ${wait}. If you close this page, open the link from the email again then.`);
  } else if (answer.status === 400) {
    button.hidden = true;
    sayWithLink(messages.invalid, messages.restartText, messages.restartHref, "error");
    focusStatus();
  } else if (answer.status === 429) {
    sayAndWait(answer, button, (wait) => `Too many attempts. Your link still works until it expires: press the button again in ${wait}.`);
  } else {
    setBusy(button, false);
    say(RETRY_TEXT[answer.status] ?? RETRY_TEXT.server, "error");
  }
}

/** Says `sentence(wait)` and turns the button back on after the answer's Retry-After. */
function sayAndWait(answer, button, sentence) {
  const seconds = Number.parseInt(answer.retryAfter, 10) || 60;
  say(sentence(waitText(seconds)), "error");
  window.setTimeout(() => setBusy(button, false), Math.min(seconds * 1000, MAX_TIMER_MS));
}

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once past this (about 24.8 days)

const RETRY_TEXT = {
  403: "The security check did not pass. Press the button to try again.",
  0: "We could not reach the service. Check your connection, then press the button again: your link still works.",
  server: "Something went wrong on our side. Your link still works: press the button again in a moment. If you closed this page, open the link from the email again.",
};
