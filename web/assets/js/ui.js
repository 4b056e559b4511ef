// Small helpers every page uses: status messages, busy buttons, form values.

/** Show a message in the page's live status region ("error", "ok" or plain). */
export function say(text, kind = "") {
  const status = document.getElementById("status");
  status.className = `status ${kind}`.trim();
  status.textContent = text;
}

/** Show a message followed by a link, e.g. "... Start again." */
export function sayWithLink(text, linkText, href, kind = "") {
  say(`${text} `, kind);
  const link = document.createElement("a");
  link.href = href;
  link.textContent = linkText;
  document.getElementById("status").append(link);
}

/** Move keyboard focus to the status message (when the control that was pressed is gone). */
export function focusStatus() {
  const status = document.getElementById("status");
  status.tabIndex = -1;
  status.focus();
}

/**
 * Disable a form's (or a single) button while a request runs, so it is sent once. A pressed
 * button loses the keyboard focus as it is disabled: it gets it back when enabled again.
 */
export function setBusy(target, busy) {
  const button = target instanceof HTMLButtonElement ? target : target.querySelector("button[type=submit]");
  if (busy) {
    button.dataset.hadFocus = String(document.activeElement === button);
  }
  button.disabled = busy;
  if (!busy && button.dataset.hadFocus === "true" && document.activeElement === document.body) {
    button.focus();
  }
  target.setAttribute("aria-busy", String(busy));
}

/** The form's named fields as an object of trimmed strings (passwords untouched). */
function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form)) {
    const field = form.elements.namedItem(name);
    values[name] = field.type === "password" ? value : value.trim();
  }
  return values;
}

/** Call `handle(values)` when `form` is submitted with every field valid; else say what is wrong. */
export function onValidSubmit(form, handle) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const invalid = invalidFields(form);
    if (invalid.length) {
      say(problemText(invalid), "error");
      return;
    }
    await handle(formValues(form));
  });
}

/** The fields that fail their checks; marked aria-invalid, the first one focused. */
function invalidFields(form) {
  const invalid = [...form.elements].filter((field) => field.willValidate && !field.checkValidity());
  invalid.forEach((field) => field.setAttribute("aria-invalid", "true"));
  form.querySelectorAll("[aria-invalid]").forEach((field) => {
    if (!invalid.includes(field)) field.removeAttribute("aria-invalid");
  });
  if (invalid.length) invalid[0].focus();
  return invalid;
}

/** "Please fill in: Email address. Please correct: Password (at least 12 characters)." */
function problemText(invalid) {
  const label = (field) => field.labels[0]?.textContent ?? field.name;
  const empty = invalid.filter((field) => field.validity.valueMissing).map(label);
  const wrong = invalid
    .filter((field) => !field.validity.valueMissing)
    .map((field) => `${label(field)} (${rule(field)})`);
  return [
    empty.length ? `Please fill in: ${empty.join(", ")}.` : "",
    wrong.length ? `Please correct: ${wrong.join(", ")}.` : "",
  ].filter(Boolean).join(" ");
}

/** The rule a filled-in field breaks, in words. */
function rule(field) {
  const { validity } = field;
  if (validity.tooShort) return `at least ${field.minLength} characters`;
  if (validity.typeMismatch && field.type === "email") return "an address such as name@example.com";
  if (validity.patternMismatch && field.dataset.rule) return field.dataset.rule;
  return "not in the expected form";
}

/** "30 seconds", "2 minutes" or "24 hours" for a Retry-After value in seconds. */
export function waitText(seconds) {
  const value = Number.parseInt(seconds, 10);
  if (!Number.isFinite(value) || value <= 0) return "a few minutes";
  if (value < 90) return `${value} seconds`;
  if (value < 90 * 60) return `${Math.ceil(value / 60)} minutes`;
  return `${Math.ceil(value / 3600)} hours`;
}
