// The account page's password change: Cognito's ChangePassword with this tab's access token.
// A provider told that someone knows their password changes it here (the pool has no reset by
// email: that would let whoever reads the mailbox pass the recovery's password check).
import { cognito, CognitoError } from "./cognito.js";
import { accessToken } from "./session.js";
import { onValidSubmit, say, setBusy } from "./ui.js";

const ERRORS = {
  NotAuthorizedException: "That is not your current password, or your session has ended. Check it and try again, or sign in again.",
  InvalidPasswordException: "That new password does not meet the rules above. Please choose another.",
  InvalidParameterException: "That new password does not meet the rules above. Please choose another.",
  LimitExceededException: "Too many attempts. Please wait a few minutes and try again.",
  TooManyRequestsException: "Too many attempts. Please wait a minute and try again.",
  NetworkError: "We could not reach the sign-in service. Check your connection and try again.",
};

/** Change the password when `form` is submitted; every answer is said in the status region. */
export function enablePasswordChange(form) {
  onValidSubmit(form, async ({ currentPassword, newPassword, repeatPassword }) => {
    if (newPassword !== repeatPassword) {
      say("The two new passwords differ. Please type the same password twice.", "error");
      return;
    }
    setBusy(form, true);
    say("Changing your password…");
    try {
      await cognito("ChangePassword", {
        AccessToken: accessToken(),
        PreviousPassword: currentPassword,
        ProposedPassword: newPassword,
      });
      form.reset();
      say("Your password is changed. Use the new one the next time you sign in.", "ok");
    } catch (error) {
      if (!(error instanceof CognitoError)) throw error;
      say(ERRORS[error.code] ?? "We could not change your password. Please try again.", "error");
    } finally {
      setBusy(form, false);
    }
  });
}
