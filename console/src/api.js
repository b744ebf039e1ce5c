// Calls to the Kickboard API with the operator's token, each bounded in time. Every failure
// becomes an ApiError whose message can be shown as is: the RFC 9457 problem's title and
// detail, "timed out", or "unreachable".

import { t } from "./i18n.js";

export const TIMEOUT_MS = 5000;

export class ApiError extends Error {
  constructor(kind, message, { status = 0, problem = null } = {}) {
    super(message);
    this.kind = kind; // "http", "timeout" or "network"
    this.status = status;
    this.problem = problem;
  }
}

async function problemOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.title === "string") return body;
  } catch {
    // Not JSON (a proxy's page): the status line is all there is.
  }
  return { title: response.statusText || `HTTP ${response.status}`, status: response.status };
}

export function problemMessage(problem, status) {
  const head = `${status} ${problem.title}`;
  return problem.detail ? `${head}: ${problem.detail}` : head;
}

export class Api {
  /** `token()` gives the bearer token at each call (it may be refreshed between calls);
   *  `unauthorized()` is called when the API refuses it (expired, or from another server). */
  constructor(baseUrl, token, unauthorized) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
    this.unauthorized = unauthorized;
  }

  /** The decoded JSON answer (null for 204), or throws an ApiError. */
  async request(method, path, body, { timeoutMs = TIMEOUT_MS } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers = { Authorization: `Bearer ${this.token()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
      });
      if (response.status === 401) this.unauthorized();
      if (!response.ok) {
        const problem = await problemOf(response);
        throw new ApiError("http", problemMessage(problem, response.status), { status: response.status, problem });
      }
      return response.status === 204 ? null : await response.json();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error.name === "AbortError") throw new ApiError("timeout", t("timedOut"));
      throw new ApiError("network", t("networkError"));
    } finally {
      clearTimeout(timer);
    }
  }

  get(path, options) {
    return this.request("GET", path, undefined, options);
  }
  put(path, body) {
    return this.request("PUT", path, body);
  }
  post(path, body) {
    return this.request("POST", path, body);
  }
  delete(path) {
    return this.request("DELETE", path);
  }
}

/** Path segments from ids: ids are pattern-checked by the API, but never trusted here. */
export function seg(id) {
  return encodeURIComponent(id);
}
