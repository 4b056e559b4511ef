// /account-recovery/not-me: stops (or locks) a recovery the owner did not ask for, on a button
// press only. The API answers the same whatever the link turns out to be; the email says more.
import { recaptchaToken } from "./api.js";
import { confirmLinkOnPress } from "./fragment-link.js";

confirmLinkOnPress(document.getElementById("confirm"), {
  names: ["compact", "providerId", "cancelToken"],
  path: "/provider-users/cancelRecovery",
  body: async (params) => ({ ...params, recaptchaToken: await recaptchaToken() }),
  messages: {
    done: "Thank you. If this link was still valid, the recovery is stopped (or your account locked) and an email tells you which, and what to do next.",
    nextText: "Go to sign in.",
    nextHref: "/sign-in",
    invalid: "This link is incomplete or malformed.",
    restartText: "Go to sign in.",
    restartHref: "/sign-in",
  },
});
