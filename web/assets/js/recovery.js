// /account-recovery: starts the recovery of an account whose MFA device was lost.
import { recaptchaToken } from "./api.js";
import { submitToApi } from "./form-page.js";
import { linkLicenseTypeToCompact } from "./license-fields.js";

const form = document.getElementById("recovery");
linkLicenseTypeToCompact(form);
submitToApi(form, {
  path: "/provider-users/initiateRecovery",
  toBody: async (values) => ({ ...values, recaptchaToken: await recaptchaToken() }),
  done: (values) =>
    `Request received. If everything matches, a "Confirm account recovery" email is on its way to ${values.username}. Its link works once, for 15 minutes.`,
});
