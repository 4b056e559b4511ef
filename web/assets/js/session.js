// The signed-in session: tokens in sessionStorage only (this tab, gone when it closes), never
// in a cookie, so no request carries them unless a page adds them on purpose.
const KEYS = ["idToken", "accessToken"];

/** Keep the ID and access tokens of an AuthenticationResult (the refresh token is dropped). */
export function keepTokens(result) {
  sessionStorage.setItem("idToken", result.IdToken);
  sessionStorage.setItem("accessToken", result.AccessToken);
}

/** The ID token, or null when signed out. */
export function idToken() {
  return sessionStorage.getItem("idToken");
}

/** The access token, or null when signed out. */
export function accessToken() {
  return sessionStorage.getItem("accessToken");
}

/** Forget every token of this tab. */
export function forgetTokens() {
  KEYS.forEach((key) => sessionStorage.removeItem(key));
}
