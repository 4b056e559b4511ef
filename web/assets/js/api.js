// Calls to the provider-accounts API, exactly as an outside frontend makes them.
import { config } from "./config.js";
import { waitText } from "./ui.js";

/** POST a JSON body; resolves to {status, body, retryAfter}; status 0 when unreachable. */
export async function postJson(path, body) {
  const { apiBaseUrl } = await config();
  return send(`${apiBaseUrl}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** GET with the ID token as bearer. */
export async function getWithToken(path, idToken) {
  const { apiBaseUrl } = await config();
  return send(`${apiBaseUrl}${path}`, { headers: { Authorization: `Bearer ${idToken}` } });
}

/** DELETE with the ID token as bearer. */
export async function deleteWithToken(path, idToken) {
  const { apiBaseUrl } = await config();
  return send(`${apiBaseUrl}${path}`, { method: "DELETE", headers: { Authorization: `Bearer ${idToken}` } });
}

async function send(url, init) {
  let answer;
  try {
    answer = await fetch(url, { ...init, credentials: "omit", cache: "no-store" });
  } catch {
    return { status: 0, body: null, retryAfter: null };
  }
  const body = await answer.json().catch(() => null);
  return { status: answer.status, body, retryAfter: answer.headers.get("Retry-After") };
}

/** The reCAPTCHA token the pages send (see the config's note). */
export async function recaptchaToken() {
  return (await config()).recaptchaToken;
}

/** A sentence for an error answer of a form endpoint (400, 403, 413, 429, 5xx, unreachable). */
export function problemText(answer) {
  if (answer.status === 0) return "We could not reach the service. Check your connection and try again.";
  if (answer.status === 400) return `Please check the form: ${answer.body?.detail ?? "a field is not valid"}.`;
  if (answer.status === 403) return "The security check did not pass. Please try again.";
  if (answer.status === 429) return `Too many attempts from here. Try again in ${waitText(answer.retryAfter)}.`;
  return "Something went wrong on our side. Nothing was lost: please try again in a moment.";
}
