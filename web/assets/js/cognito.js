// Cognito's JSON API, called from the browser as AWS's own SDKs call it (no SDK needed).
import { config } from "./config.js";

/** Thrown for an error answer: `code` is Cognito's exception name. */
export class CognitoError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Call one action (e.g. "InitiateAuth") with its JSON request; resolves to its JSON answer. */
export async function cognito(action, request) {
  const { cognitoEndpoint } = await config();
  let answer;
  try {
    answer = await fetch(cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(request),
      credentials: "omit",
    });
  } catch {
    throw new CognitoError("NetworkError", "unreachable");
  }
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const code = String(body.__type ?? "UnknownError").split("#").pop();
    throw new CognitoError(code, body.message ?? "");
  }
  return body;
}

/** The app client every page signs in with. */
export async function clientId() {
  return (await config()).userPoolClientId;
}
