// Calls to the field API (/api/field/v1) and the tiles, relative to where the app is served,
// so that the app works behind a reverse proxy under a path prefix.

/** The server's root path (what comes before /m/), "" when the app is at the root. */
export const ROOT = location.pathname.replace(/\/m(\/.*)?$/, "");
export const APP = `${ROOT}/m/`;
export const API = `${ROOT}/api/field/v1`;
export const TILES = `${ROOT}/api/tiles`;

/** An answer of the API that is not a success; status 0: no answer (no network). */
export class ApiError extends Error {
  constructor(status, message, reason = "", body = null) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }

  /** Worth trying again later: no network, a server error, too many requests, a timeout. */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/**
 * One request: method, path under /api/field/v1, options {key, json, form, timeoutMs}.
 * Returns the parsed JSON body (null for 204) with the status as `status` on objects.
 */
export async function call(method, path, { key = null, json = undefined, form = undefined, timeoutMs = 30000 } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(API + path, { method, headers, body, signal: controller.signal, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, navigator.onLine ? "无法连接服务器，请稍后再试" : "当前没有网络", String(error));
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.message) || `服务器返回错误（${response.status}）`;
    throw new ApiError(response.status, message, (data && data.reason) || "", data);
  }
  if (data && typeof data === "object") Object.defineProperty(data, "status_code", { value: response.status });
  return data;
}
