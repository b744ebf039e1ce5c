// A board's panel: what the fleet read says of it, and the buttons that act on it, each
// showing the API's answer (a problem's title and detail, or "timed out") as it is.

import { ApiError } from "./api.js";
import { age, clock, t } from "./i18n.js";
import { boardPath, statusClass } from "./map.js";

const COMMAND_POLL_MS = 500;
/** How long past its deadline a command is still asked about before the page gives up. */
const COMMAND_GRACE_MS = 3000;


const STATUS_LABEL = {
  available: "statusAvailable",
  low: "statusLow",
  maintenance: "statusMaintenance",
  rented: "statusRented",
};

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function when(iso) {
  const date = new Date(iso);
  return t("ago", clock(date), age(Date.now() - date.getTime()));
}

export class Panel {
  constructor(api, fleet) {
    this.api = api;
    this.fleet = fleet;
    this.board = null;
    this.section = document.getElementById("panel");
    this.title = document.getElementById("panel-title");
    this.fields = document.getElementById("panel-fields");
    this.answer = document.getElementById("panel-answer");
    this.buttons = [...this.section.querySelectorAll("[data-action]")];
    document.getElementById("panel-close").addEventListener("click", () => fleet.select(null));
    for (const button of this.buttons) {
      button.addEventListener("click", () => this.act(button.dataset.action));
    }
    setInterval(() => this.board && this.render(), 1000);
  }

  /** Shows `board` (null closes the panel); a refresh keeps the last answer on screen. */
  show(board, { refreshed }) {
    if (!board) {
      this.board = null;
      this.section.hidden = true;
      return;
    }
    if (!refreshed || board.kickboardId !== this.board?.kickboardId) this.say("");
    this.board = board;
    this.section.hidden = false;
    this.render();
  }

  render() {
    const board = this.board;
    this.title.textContent = t("panelTitle", board.kickboardId);
    const kind = statusClass(board);
    const rows = [
      ["fieldId", board.kickboardId],
      ["fieldModel", `${board.model} / ${board.vehicleTypeId}`],
      ["fieldBattery", `${board.batteryPct} % / ${(board.rangeMeters / 1000).toFixed(1)} km`],
      ["fieldLastReport", when(board.lastReportedAt)],
      ["fieldStatus", `${t(STATUS_LABEL[kind])} (${board.status})`],
      ["fieldRide", board.rentalId ? t("rideSince", board.rentalId, clock(new Date(board.rentedAt))) : t("noRide")],
    ];
    if (board.maintenanceReason) rows.push(["fieldReason", board.maintenanceReason]);
    this.fields.replaceChildren(
      ...rows.flatMap(([label, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = t(label);
        const dd = document.createElement("dd");
        dd.textContent = value;
        dd.dataset.field = label;
        return [dt, dd];
      }),
    );
    for (const button of this.buttons) {
      const action = button.dataset.action;
      button.hidden =
        (action === "maintenance" && board.status !== "AVAILABLE") ||
        (action === "service" && board.status !== "MAINTENANCE");
    }
  }

  say(text, failed = false) {
    this.answer.textContent = text;
    this.answer.classList.toggle("failed", failed);
  }

  async act(action) {
    const board = this.board;
    if (!board) return;
    const id = board.kickboardId;
    if (action === "retire" && !confirm(t("retireConfirm", id))) return;
    for (const button of this.buttons) button.disabled = true;
    this.say(t("working"));
    try {
      if (action === "maintenance" || action === "service") {
        const status = action === "maintenance" ? "MAINTENANCE" : "AVAILABLE";
        const changed = await this.api.put(`${boardPath(id)}/status`, { status });
        this.fleet.replace(changed);
        this.say(t("done", changed.status));
      } else if (action === "retire") {
        await this.api.delete(boardPath(id));
        this.fleet.remove(id);
        this.fleet.select(null);
      } else {
        await this.command(id, action);
      }
    } catch (error) {
      this.say(error instanceof ApiError ? error.message : String(error), true);
    } finally {
      for (const button of this.buttons) button.disabled = false;
    }
    // The fleet read again, so the change shows with everything else that moved.
    this.fleet.refresh().catch(() => {});
  }

  /** Sends `command` and asks after it until the board answers or its deadline passes. */
  async command(id, command) {
    let sent = await this.api.post(`${boardPath(id)}/commands`, { command });
    this.say(t("commandSent", command));
    // The board's time to answer, on this clock: the server's may differ (or be moved).
    const giveUpAt = Date.now() + (new Date(sent.deadline) - new Date(sent.sentAt)) + COMMAND_GRACE_MS;
    while (sent.status === "SENT" && Date.now() < giveUpAt) {
      await sleep(COMMAND_POLL_MS);
      sent = await this.api.get(`${boardPath(id)}/commands/${encodeURIComponent(sent.commandId)}`);
    }
    if (sent.status === "ACKED") this.say(t("commandAcked", command));
    else if (sent.status === "FAILED") this.say(t("commandFailed", command, sent.error ?? ""), true);
    else this.say(t("commandTimedOut", command), true);
  }
}
