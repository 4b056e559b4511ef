// /sign-in: password, then whichever challenge Cognito asks for, until it hands out tokens.
import qrcode from "/assets/vendor/qrcode.mjs";
import { clientId, cognito, CognitoError } from "./cognito.js";
import { keepTokens } from "./session.js";
import { onValidSubmit, say, setBusy } from "./ui.js";

const ISSUER = "Provider accounts";
const steps = ["password-step", "new-password-step", "mfa-setup-step", "mfa-step"].map((id) =>
  document.getElementById(id),
);
// The challenge in progress: Cognito's session string and the username it answers for.
const flow = { session: null, username: null };

function show(step) {
  steps.forEach((candidate) => {
    candidate.hidden = candidate !== step;
  });
  step.querySelector("h2").focus();
}

/** Go where Cognito's answer leads: a challenge's step, or the account page with tokens. */
async function follow(answer) {
  if (answer.AuthenticationResult) {
    keepTokens(answer.AuthenticationResult);
    window.location.assign("/account");
    return;
  }
  flow.session = answer.Session;
  say("");
  if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    // Password managers file the new password under this account.
    steps[1].elements.namedItem("username").value = flow.username;
    show(steps[1]);
  } else if (answer.ChallengeName === "MFA_SETUP") {
    await startMfaSetup();
  } else if (answer.ChallengeName === "SOFTWARE_TOKEN_MFA") {
    show(steps[3]);
  } else {
    say(`This account needs a sign-in step these pages do not offer (${answer.ChallengeName}).`, "error");
  }
}

async function startMfaSetup() {
  const association = await cognito("AssociateSoftwareToken", { Session: flow.session });
  flow.session = association.Session;
  const secret = association.SecretCode;
  document.getElementById("mfa-secret").textContent = secret;
  drawQr(`otpauth://totp/${encodeURIComponent(`${ISSUER}:${flow.username}`)}?secret=${secret}&issuer=${encodeURIComponent(ISSUER)}`);
  show(steps[2]);
}

function drawQr(text) {
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const count = code.getModuleCount();
  const margin = 4;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const size = count + margin * 2;
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "QR code for your authenticator app; the same key is written below it");
  const background = document.createElementNS(ns, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  svg.append(background);
  let path = "";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) path += `M${col + margin} ${row + margin}h1v1h-1z`;
    }
  }
  const modules = document.createElementNS(ns, "path");
  modules.setAttribute("d", path);
  modules.setAttribute("fill", "#000");
  svg.append(modules);
  document.getElementById("qr").replaceChildren(svg);
}

const ERRORS = {
  NotAuthorizedException: "That email and password do not match, or this sign-in took too long. Please start again.",
  UserNotFoundException: "That email and password do not match. Please try again.",
  PasswordResetRequiredException: "Your password must be reset before you can sign in.",
  InvalidPasswordException: "That password does not meet the rules above. Please choose another.",
  CodeMismatchException: "That code is not right. Enter the code your app shows now.",
  EnableSoftwareTokenMFAException: "That code is not right. Enter the code your app shows now.",
  ExpiredCodeException: "That code was already used or has expired. Wait for the next code.",
  TooManyRequestsException: "Too many attempts. Please wait a minute and try again.",
  LimitExceededException: "Too many attempts. Please wait a few minutes and try again.",
  NetworkError: "We could not reach the sign-in service. Check your connection and try again.",
};

// Cognito tells anyone who asks that a user is disabled, so saying it here reveals nothing new.
const LOCKED = "This account is locked, as its \"Not me\" link asked. Contact your compact's support: once they have checked who you are, they unlock it.";

function explain(error) {
  if (!(error instanceof CognitoError)) throw error;
  const disabled = error.code === "NotAuthorizedException" && /disabled/i.test(error.message);
  const text = disabled ? LOCKED : (ERRORS[error.code] ?? "Sign-in failed. Please try again.");
  // An expired challenge session cannot continue: the only way on is the first step again.
  if (error.code === "NotAuthorizedException" && flow.session) {
    flow.session = null;
    show(steps[0]);
  }
  say(text, "error");
}

/** Run `action` for a submitted step form: validation, busy button, errors explained. */
function onSubmit(form, action) {
  onValidSubmit(form, async (values) => {
    setBusy(form, true);
    say("Checking…");
    try {
      await action(values);
    } catch (error) {
      explain(error);
    } finally {
      setBusy(form, false);
    }
  });
}

onSubmit(steps[0], async ({ username, password }) => {
  flow.username = username;
  flow.session = null;
  // The password leaves the page; the email stays, for another try.
  steps[0].elements.namedItem("password").value = "";
  await follow(
    await cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: await clientId(),
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  );
});

onSubmit(steps[1], async ({ newPassword, repeatPassword }) => {
  if (newPassword !== repeatPassword) {
    say("The two passwords differ. Please type the same password twice.", "error");
    return;
  }
  await follow(
    await cognito("RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      ClientId: await clientId(),
      Session: flow.session,
      ChallengeResponses: { USERNAME: flow.username, NEW_PASSWORD: newPassword },
    }),
  );
  steps[1].reset();
});

onSubmit(steps[2], async ({ code }) => {
  const verified = await cognito("VerifySoftwareToken", {
    Session: flow.session,
    UserCode: code,
    FriendlyDeviceName: "Authenticator app",
  });
  flow.session = verified.Session;
  await follow(
    await cognito("RespondToAuthChallenge", {
      ChallengeName: "MFA_SETUP",
      ClientId: await clientId(),
      Session: flow.session,
      ChallengeResponses: { USERNAME: flow.username },
    }),
  );
});

onSubmit(steps[3], async ({ code }) => {
  await follow(
    await cognito("RespondToAuthChallenge", {
      ChallengeName: "SOFTWARE_TOKEN_MFA",
      ClientId: await clientId(),
      Session: flow.session,
      ChallengeResponses: { USERNAME: flow.username, SOFTWARE_TOKEN_MFA_CODE: code },
    }),
  );
});

if (new URLSearchParams(window.location.search).get("signed-out") !== null) {
  say("You are signed out.", "ok");
}
