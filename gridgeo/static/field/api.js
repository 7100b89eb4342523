// The public HTTP API as the signed-in worker: one credential (an API key or an OIDC
// access token, both sent as a bearer token), kept in localStorage.
const CREDENTIAL = 'gridgeo.credential';

export function credential() {
  return localStorage.getItem(CREDENTIAL);
}

export function signIn(value) {
  localStorage.setItem(CREDENTIAL, value.trim());
}

export function signOut() {
  localStorage.removeItem(CREDENTIAL);
}

export function authorised(headers = {}, token = credential()) {
  return { ...headers, Authorization: `Bearer ${token}` };
}

// A GET answered as JSON, or null when the server has no such document (404) or cannot
// be reached and nothing is cached (the service worker answers from its cache offline).
export async function getJson(path) {
  try {
    const response = await fetch(path, { headers: authorised({ Accept: 'application/json' }) });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

// The sentence a refusal carries (gridgeo's errors put it in "description").
export async function refusalText(response) {
  try {
    const body = await response.json();
    return body.description || body.message || JSON.stringify(body);
  } catch {
    return `HTTP ${response.status}`;
  }
}
