// A page whose one form POSTs to the API and always gets the same generic answer when valid.
import { postJson, problemText } from "./api.js";
import { onValidSubmit, say, setBusy } from "./ui.js";

/**
 * Submit `form` to `path` with `toBody(values)`; on 200 show `done(values)`.
 * The service answers 200 whatever it found (so nobody learns whether an account exists),
 * and only after a few seconds: the button stays disabled meanwhile so it is sent once.
 */
export function submitToApi(form, { path, toBody, done }) {
  onValidSubmit(form, async (values) => {
    setBusy(form, true);
    say("Sending… this takes a few seconds.");
    const answer = await postJson(path, await toBody(values));
    setBusy(form, false);
    if (answer.status === 200) {
      form.reset();
      say(done(values), "ok");
    } else {
      say(problemText(answer), "error");
    }
  });
}
