// Where the API and Cognito are, as the serving instance describes them.
let loaded;

/** The pages' settings (API base, Cognito endpoint and app client), fetched once. */
export function config() {
  loaded ??= fetch("/assets/config.json").then((answer) => answer.json());
  return loaded;
}
