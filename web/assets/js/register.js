// /register: the registration form.
import { recaptchaToken } from "./api.js";
import { submitToApi } from "./form-page.js";
import { linkLicenseTypeToCompact } from "./license-fields.js";

const form = document.getElementById("register");
linkLicenseTypeToCompact(form);
submitToApi(form, {
  path: "/provider-users/registration",
  toBody: async (values) => ({ ...values, token: await recaptchaToken() }),
  done: (values) =>
    `Thank you. If your details match a license record, an email with a temporary password is on its way to ${values.email}. Then sign in with it.`,
});
