// The account page's notice of a pending recovery, and its cancel (DELETE
// /v1/provider-users/me/pendingRecovery): for an owner who can still sign in and sees a
// recovery they did not ask for, typically under its cool-down.
import { deleteWithToken } from "./api.js";
import { forgetTokens, idToken } from "./session.js";
import { focusStatus, say, sayWithLink, setBusy } from "./ui.js";

const when = (moment) => new Date(moment).toLocaleString();

/** Show `pending` (the profile's pendingRecovery, if any) in `section`, with its cancel. */
export function showPendingRecovery(pending, section) {
  section.hidden = !pending;
  if (!pending) return;
  document.getElementById("pending-text").textContent =
    `Someone asked on ${when(pending.requestedAt)} to recover this account. Its emailed link works from ${when(pending.usableFrom)} until ${when(pending.expiresAt)}.`;
  const button = document.getElementById("cancel-recovery");
  button.addEventListener("click", async () => {
    setBusy(button, true);
    say("Cancelling the recovery…");
    const answer = await deleteWithToken("/provider-users/me/pendingRecovery", idToken());
    if (answer.status === 204 || answer.status === 404) {
      section.hidden = true;
      say(
        answer.status === 204
          ? "The recovery is cancelled: its link no longer works, and an email confirms it. Now change your password below."
          : "No recovery is pending any more: it was used, cancelled or has expired.",
        "ok",
      );
      focusStatus();
    } else if (answer.status === 401) {
      forgetTokens();
      sayWithLink("Your session has ended.", "Sign in again", "/sign-in", "error");
    } else if (answer.status === 403) {
      // This session began before the recovery was asked for (a lost device could be such a one).
      forgetTokens();
      sayWithLink(
        "To cancel a recovery asked for after you signed in, sign in again first (or use \"It was not me\" in the email about it).",
        "Sign in again",
        "/sign-in",
        "error",
      );
    } else {
      setBusy(button, false);
      say("We could not cancel the recovery. Press the button again in a moment.", "error");
    }
  });
}
