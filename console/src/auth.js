// Sign-in. Locally, the server's loopback-only token route; on AWS, Cognito's hosted UI with
// the authorization code flow and PKCE (RFC 7636, S256), the tokens kept in sessionStorage so
// they end with the tab.

const TOKENS = "kickboard.console.tokens";
const PENDING = "kickboard.console.pkce";

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The S256 code challenge of `verifier`: BASE64URL(SHA256(ASCII(verifier))). */
export async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function randomString(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A JWT's payload, not verified: the API verifies it; the page only reads who and which groups. */
export function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export function groupsOf(claims) {
  const groups = claims?.["cognito:groups"] ?? [];
  return Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/);
}

function stored() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS)) ?? null;
  } catch {
    return null;
  }
}

function store(tokens) {
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
}

function expired(token, marginSeconds = 30) {
  const exp = claimsOf(token)?.exp;
  return typeof exp !== "number" || exp * 1000 < Date.now() + marginSeconds * 1000;
}

/** Where Cognito sends the browser back: this page, without its query. */
function redirectUri() {
  return location.origin + location.pathname;
}

async function tokenRequest(config, form) {
  const response = await fetch(`${config.cognitoDomain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.clientId, ...form }),
  });
  if (!response.ok) throw new Error(`${response.status} ${(await response.text()).slice(0, 200)}`);
  const body = await response.json();
  return { token: body.access_token, refreshToken: body.refresh_token ?? form.refresh_token ?? null };
}

export class Auth {
  constructor(config) {
    this.config = config;
  }

  /** The current access token, or null when the operator must sign in. Completes a Cognito
   *  redirect when the page was opened with its `code`. */
  async current() {
    if (this.config.auth === "cognito") await this.completeCognito();
    const tokens = stored();
    if (!tokens?.token) return null;
    if (!expired(tokens.token)) return tokens.token;
    if (this.config.auth === "cognito" && tokens.refreshToken) {
      try {
        const fresh = await tokenRequest(this.config, {
          grant_type: "refresh_token",
          refresh_token: tokens.refreshToken,
        });
        store(fresh);
        return fresh.token;
      } catch {
        // The refresh token expired or was revoked: sign in again.
      }
    }
    sessionStorage.removeItem(TOKENS);
    return null;
  }

  /** The token to send now; re-read so a refresh by another call is used. */
  token() {
    return stored()?.token ?? "";
  }

  async signInLocal(sub, groups) {
    const response = await fetch(`${this.config.apiUrl}/local/tokens`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sub, groups }),
    });
    if (!response.ok) {
      let detail = `${response.status}`;
      try {
        const problem = await response.json();
        detail = `${response.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ""}`;
      } catch {
        // Not a problem document: the status is all there is.
      }
      throw new Error(detail);
    }
    const { token } = await response.json();
    store({ token, refreshToken: null });
    return token;
  }

  async signInCognito() {
    const verifier = randomString(32);
    const state = randomString(16);
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
    const query = new URLSearchParams({
      response_type: "code",
      client_id: this.config.clientId,
      redirect_uri: redirectUri(),
      scope: "openid",
      state,
      code_challenge_method: "S256",
      code_challenge: await pkceChallenge(verifier),
    });
    location.assign(`${this.config.cognitoDomain}/oauth2/authorize?${query}`);
  }

  async completeCognito() {
    const params = new URLSearchParams(location.search);
    const code = params.get("code");
    if (!code) return;
    const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null");
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, "", redirectUri());
    // A code this tab did not ask for (a forged redirect) is dropped.
    if (!pending || params.get("state") !== pending.state) return;
    store(
      await tokenRequest(this.config, {
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri(),
        code_verifier: pending.verifier,
      }),
    );
  }

  /** Drops the token: the next start asks for a sign-in. */
  forget() {
    sessionStorage.removeItem(TOKENS);
  }

  signOut() {
    this.forget();
    if (this.config.auth === "cognito") {
      const query = new URLSearchParams({ client_id: this.config.clientId, logout_uri: redirectUri() });
      location.assign(`${this.config.cognitoDomain}/logout?${query}`);
    } else {
      location.reload();
    }
  }
}
