// /account: the signed-in provider's profile from GET /v1/provider-users/me; change the
// password; sign out.
import { getWithToken } from "./api.js";
import { enablePasswordChange } from "./change-password.js";
import { showPendingRecovery } from "./pending-recovery.js";
import { cognito } from "./cognito.js";
import { accessToken, forgetTokens, idToken } from "./session.js";
import { say, sayWithLink } from "./ui.js";

const EVENTS = {
  registered: "Account registered",
  recovery_requested: "Recovery requested",
  recovery_completed: "Recovery completed",
  recovery_cancelled: "Recovery cancelled",
  account_locked: "Account locked",
  account_unlocked: "Account unlocked by support",
};

function item(text, datetime) {
  const li = document.createElement("li");
  if (datetime) {
    const time = document.createElement("time");
    time.dateTime = datetime;
    time.textContent = new Date(datetime).toLocaleString();
    li.append(time, `: ${text}`);
  } else {
    li.textContent = text;
  }
  return li;
}

// "Recovery requested, from Firefox on Windows at 203.0.113.9": enough to tell one's own.
// An unlock names the operator who ran it: that is for the logs, not for this page.
function eventText(event) {
  const label = EVENTS[event.type] ?? event.type;
  if (event.type === "account_unlocked") return label;
  const from = [event.browser && ` from ${event.browser}`, event.ipAddress && ` at ${event.ipAddress}`];
  const origin = from.filter(Boolean).join("");
  return origin ? `${label},${origin}` : label;
}

function show(profile) {
  document.getElementById("name").textContent = `${profile.givenName} ${profile.familyName}`;
  document.getElementById("email").textContent = profile.email;
  // Password managers file the new password under this account.
  document.getElementById("account-username").value = profile.email;
  document.getElementById("compact").textContent = profile.compact;
  document.getElementById("licenses").replaceChildren(
    ...profile.licenses.map((license) =>
      item(`${license.licenseType}, ${license.jurisdiction.toUpperCase()}, number ${license.licenseNumber} (${license.licenseStatus})`),
    ),
  );
  document.getElementById("events").replaceChildren(
    ...profile.events.map((event) => item(eventText(event), event.occurredAt)),
  );
  showPendingRecovery(profile.pendingRecovery, document.getElementById("pending"));
  document.getElementById("profile").hidden = false;
}

async function signOut() {
  const token = accessToken();
  forgetTokens();
  // Ends the session's tokens at Cognito too; the page has already forgotten them either way.
  if (token) await cognito("GlobalSignOut", { AccessToken: token }).catch(() => undefined);
  window.location.assign("/sign-in?signed-out");
}

async function load() {
  const token = idToken();
  if (!token) {
    sayWithLink("You are not signed in.", "Sign in", "/sign-in");
    return;
  }
  say("Loading your account…");
  const answer = await getWithToken("/provider-users/me", token);
  if (answer.status === 200) {
    say("");
    show(answer.body);
    enablePasswordChange(document.getElementById("change-password"));
    document.getElementById("sign-out").addEventListener("click", signOut);
  } else if (answer.status === 401) {
    forgetTokens();
    sayWithLink("Your session has ended (it expired, or the account was recovered).", "Sign in again", "/sign-in", "error");
  } else if (answer.status === 0) {
    say("We could not reach the service. Check your connection and reload the page.", "error");
  } else {
    say("We could not load your account. Please reload the page in a moment.", "error");
  }
}

load();
