// What changes by the minute: the crew's alerts (newest first), the rides in progress and
// today's figures, each read every few seconds on its own so one failing route hides nothing else.

import { ApiError } from "./api.js";
import { age, clock, locale, t } from "./i18n.js";

const POLL_MS = 5000;

function item(...parts) {
  const li = document.createElement("li");
  li.append(...parts);
  return li;
}

function text(tag, content, className) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

function failure(error) {
  return item(text("span", t("liveUnavailable", error instanceof ApiError ? error.message : String(error)), "error"));
}

export class Live {
  constructor(api, fleet) {
    this.api = api;
    this.fleet = fleet;
    this.last = {};
  }

  start() {
    const loop = async () => {
      await Promise.all([this.alerts(), this.rides(), this.summary()]);
      setTimeout(loop, POLL_MS);
    };
    loop();
  }

  /** Redraws from what was last read (a language switch). */
  redraw() {
    for (const [name, answer] of Object.entries(this.last)) this[`draw_${name}`](answer);
  }

  async read(name, path) {
    try {
      this.last[name] = await this.api.get(path);
      this[`draw_${name}`](this.last[name]);
    } catch (error) {
      delete this.last[name];
      document.getElementById(name).replaceChildren(failure(error));
    }
  }

  alerts() {
    return this.read("alerts", "/admin/alerts");
  }
  rides() {
    return this.read("rides", "/admin/rentals?status=ACTIVE");
  }
  summary() {
    return this.read("summary", "/admin/summary");
  }

  boardButton(id) {
    const button = text("button", id);
    button.type = "button";
    button.addEventListener("click", () => this.fleet.reveal(id));
    return button;
  }

  draw_alerts({ alerts }) {
    const list = document.getElementById("alerts");
    if (!alerts.length) return list.replaceChildren(item(text("span", t("noAlerts"))));
    list.replaceChildren(
      ...alerts.map((alert) => {
        const when = new Date(alert.occurredAt);
        const li = item(
          text("strong", t(`alert_${alert.kind}`)),
          " ",
          this.boardButton(alert.kickboardId),
          text("div", alert.text),
          text("div", t("ago", clock(when), age(Date.now() - when.getTime())), "meta"),
        );
        li.dataset.kind = alert.kind;
        li.dataset.alertId = alert.alertId;
        return li;
      }),
    );
  }

  draw_rides({ rentals }) {
    const list = document.getElementById("rides");
    if (!rentals.length) return list.replaceChildren(item(text("span", t("noRides"))));
    list.replaceChildren(
      ...rentals.map((rental) => {
        const since = new Date(rental.rentedAt);
        return item(
          this.boardButton(rental.kickboardId),
          text("span", ` ${rental.rentalId}`),
          text("div", `${t("ago", clock(since), age(Date.now() - since.getTime()))} · ${rental.batteryPct} %`, "meta"),
        );
      }),
    );
  }

  draw_summary(summary) {
    const number = (n) => Number(n).toLocaleString(locale());
    const rows = [
      ["summaryRides", number(summary.ridesEnded)],
      ["summaryMinutes", number(summary.minutesBilled)],
      ["summaryRevenue", t("won", number(summary.revenueWon))],
      ["summaryBreaker", t(`breaker${summary.paymentBreaker}`)],
    ];
    document.getElementById("summary").replaceChildren(
      ...rows.flatMap(([label, value]) => {
        const dd = text("dd", value);
        dd.dataset.field = label;
        if (label === "summaryBreaker" && summary.paymentBreaker !== "CLOSED") dd.className = "error";
        return [text("dt", t(label)), dd];
      }),
      text("dt", ""),
      text("dd", `${summary.day} (${summary.timeZone})`, "meta"),
    );
  }
}
