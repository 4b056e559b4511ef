// /account-recovery/verify: confirms a recovery with the emailed link, on a button press only.
import { recaptchaToken } from "./api.js";
import { confirmLinkOnPress } from "./fragment-link.js";

confirmLinkOnPress(document.getElementById("confirm"), {
  names: ["compact", "providerId", "recoveryToken"],
  path: "/provider-users/verifyRecovery",
  body: async (params) => ({ ...params, recaptchaToken: await recaptchaToken() }),
  messages: {
    done: "Your account was reset. An email with a new temporary password is on its way: sign in with it, choose a new password and set up your new device.",
    nextText: "Go to sign in.",
    nextHref: "/sign-in",
    invalid: "This link is invalid, has expired or was already used.",
    restartText: "Start the recovery again.",
    restartHref: "/account-recovery",
  },
});
