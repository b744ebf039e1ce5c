// The console's start: read config.json (written at deploy, or by the local server), sign in,
// and only for a token in the admin group start the map; anyone else gets "not an operator"
// and the fleet is never asked for.

import { Api } from "./api.js";
import { Auth, claimsOf, groupsOf } from "./auth.js";
import { applyStatic, currentLang, onLangChange, setLang, t } from "./i18n.js";
import { Live } from "./live.js";
import { Fleet, createMap } from "./map.js";
import { Panel } from "./panel.js";
import { Zones } from "./zones.js";

const $ = (id) => document.getElementById(id);

function show(view) {
  for (const id of ["sign-in", "not-operator", "console"]) $(id).hidden = id !== view;
}

function signInForm(auth, config) {
  show("sign-in");
  const error = $("sign-in-error");
  if (config.auth === "cognito") {
    $("cognito-sign-in").hidden = false;
    $("cognito-sign-in").addEventListener("click", () => auth.signInCognito());
    return;
  }
  const form = $("local-sign-in");
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const group = $("operator-group").value;
    error.textContent = t("signingIn");
    try {
      await auth.signInLocal($("operator-id").value.trim(), group === "admin" ? ["admin"] : []);
      location.reload();
    } catch (failure) {
      error.textContent = t("signInFailed", failure.message);
    }
  });
}

function operatorConsole(auth, config) {
  show("console");
  const api = new Api(
    config.apiUrl ?? "",
    () => auth.token(),
    () => {
      auth.forget();
      location.reload();
    },
  );
  const map = createMap($("map"), config);
  let panel = null;
  const fleet = new Fleet(map, api, {
    onSelect: (board, how) => panel?.show(board, how),
    statusLine: $("fleet-status"),
    banner: $("banner"),
  });
  panel = new Panel(api, fleet);
  const zones = new Zones(map, api);
  const live = new Live(api, fleet);
  onLangChange(() => {
    zones.render();
    live.redraw();
    fleet.showStatus();
    if (panel.board) panel.render();
  });
  fleet.start();
  zones.load().catch((error) => ($("zone-error").textContent = error.message));
  live.start();
}

async function start() {
  applyStatic();
  $("lang").addEventListener("click", () => setLang(currentLang() === "ko" ? "en" : "ko"));
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`${response.status}`);
    config = await response.json();
  } catch (error) {
    show("sign-in");
    $("sign-in-error").textContent = t("configFailed", error.message);
    return;
  }
  const auth = new Auth(config);
  let token;
  try {
    token = await auth.current();
  } catch (error) {
    token = null;
    $("sign-in-error").textContent = t("signInFailed", error.message);
  }
  if (!token) return signInForm(auth, config);
  $("sign-out").hidden = false;
  $("sign-out").addEventListener("click", () => auth.signOut());
  const claims = claimsOf(token);
  if (!groupsOf(claims).includes("admin")) {
    show("not-operator");
    const explain = () => ($("not-operator-text").textContent = t("notOperatorText", claims?.sub ?? "?"));
    explain();
    onLangChange(explain);
    return;
  }
  operatorConsole(auth, config);
}

start();
