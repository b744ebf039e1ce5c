// The map and the fleet on it: every board a dot coloured by status, clustered when zoomed
// out, read again every few seconds. What is shown always says how old it is.

import { ApiError, seg } from "./api.js";
import { age, clock, t } from "./i18n.js";

const L = window.L;
const POLL_MS = 5000;
const MAX_BACKOFF_MS = 60000;
/** Older than this (three missed polls), the fleet's age turns red and the dots fade. */
export const STALE_MS = 15000;
const SEOUL = [37.5665, 126.978];

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function createMap(element, config) {
  const map = L.map(element, { center: SEOUL, zoom: 13, zoomControl: true });
  // Leaflet writes attributions as HTML; the setting is text.
  const attribution = String(config.tileAttribution ?? "").replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
  L.tileLayer(config.tileUrl, { attribution, maxZoom: 19 }).addTo(map);
  return map;
}

/** available, low, maintenance or rented: the dot's class. */
export function statusClass(board) {
  if (board.status === "RENTED") return "rented";
  if (board.status === "MAINTENANCE") return "maintenance";
  return board.batteryLow ? "low" : "available";
}

const icons = {};
function iconFor(kind) {
  icons[kind] ??= L.divIcon({ className: `board board--${kind}`, iconSize: [14, 14] });
  return icons[kind];
}

export class Fleet {
  constructor(map, api, { onSelect, statusLine, banner }) {
    this.map = map;
    this.api = api;
    this.onSelect = onSelect;
    this.statusLine = statusLine;
    this.banner = banner;
    this.boards = new Map(); // id → the board as last read
    this.markers = new Map(); // id → its marker
    this.readAt = null;
    this.selected = null;
    this.firstRead = true;
    this.failures = 0;
    this.lastError = null;
    this.retryAt = 0;
    this.cluster = L.markerClusterGroup({
      chunkedLoading: true,
      disableClusteringAtZoom: 18,
      spiderfyOnMaxZoom: false,
      chunkProgress: (processed, total) => {
        if (processed === total) this.drawn();
      },
    });
    map.addLayer(this.cluster);
    setInterval(() => this.showStatus(), 1000);
  }

  /** Reads the fleet now, then every few seconds; after a failure, with growing delays. */
  start() {
    const loop = async () => {
      let delay = POLL_MS;
      try {
        await this.refresh();
        this.failures = 0;
        this.banner.hidden = true;
      } catch (error) {
        this.failures += 1;
        this.lastError = error;
        delay = Math.min(POLL_MS * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
        this.retryAt = Date.now() + delay;
        this.showUnreachable(error);
      }
      this.showStatus();
      setTimeout(loop, delay);
    };
    loop();
  }

  async refresh() {
    const answer = await this.api.get("/admin/kickboards");
    this.update(answer.kickboards, new Date(answer.readAt));
  }

  update(everyBoard, readAt) {
    // A retired board is no longer in the fleet.
    const boards = everyBoard.filter((board) => board.status !== "RETIRED");
    this.readAt = readAt;
    const seen = new Set();
    const added = [];
    const removed = [];
    for (const board of boards) {
      seen.add(board.kickboardId);
      const before = this.boards.get(board.kickboardId);
      this.boards.set(board.kickboardId, board);
      const marker = this.markers.get(board.kickboardId);
      if (!marker) {
        added.push(this.markerFor(board));
      } else if (before.lat !== board.lat || before.lon !== board.lon) {
        // Re-added so the clusters take the move into account.
        removed.push(marker);
        marker.setLatLng([board.lat, board.lon]);
        marker.setIcon(iconFor(statusClass(board)));
        added.push(marker);
      } else if (statusClass(before) !== statusClass(board)) {
        marker.setIcon(iconFor(statusClass(board)));
        this.markSelected(marker);
      }
    }
    for (const [id, marker] of this.markers) {
      if (!seen.has(id)) {
        removed.push(marker);
        this.markers.delete(id);
        this.boards.delete(id);
      }
    }
    if (removed.length) this.cluster.removeLayers(removed);
    if (added.length) this.cluster.addLayers(added);
    else this.drawn();
    if (this.firstRead && boards.length) {
      // A handful of boards in one street shows them one by one; a city, in clusters.
      this.map.fitBounds(L.latLngBounds(boards.map((b) => [b.lat, b.lon])).pad(0.1), { maxZoom: 18 });
    }
    this.firstRead = false;
    if (this.selected) this.onSelect(this.boards.get(this.selected) ?? null, { refreshed: true });
  }

  /** One board as an answer gave it (a status change), until the next read. */
  replace(board) {
    const known = this.boards.get(board.kickboardId);
    this.update(
      [...this.boards.values()].map((b) => (b.kickboardId === board.kickboardId ? { ...known, ...board } : b)),
      this.readAt,
    );
  }

  remove(id) {
    this.update(
      [...this.boards.values()].filter((b) => b.kickboardId !== id),
      this.readAt,
    );
  }

  markerFor(board) {
    const marker = L.marker([board.lat, board.lon], {
      icon: iconFor(statusClass(board)),
      title: board.kickboardId,
      alt: board.kickboardId,
      keyboard: true,
    });
    const id = board.kickboardId;
    marker.on("add", () => {
      marker.getElement().dataset.boardId = id;
      this.markSelected(marker);
    });
    marker.on("click", () => this.select(id));
    // Leaflet makes the dot focusable but fires no click for Enter: the keyboard's way in.
    marker.on("keypress", (event) => event.originalEvent.key === "Enter" && this.select(id));
    this.markers.set(id, marker);
    return marker;
  }

  markSelected(marker) {
    const element = marker.getElement();
    if (element) element.classList.toggle("selected", element.dataset.boardId === this.selected);
  }

  select(id) {
    const previous = this.selected && this.markers.get(this.selected);
    this.selected = id;
    if (previous) this.markSelected(previous);
    const marker = id && this.markers.get(id);
    if (marker) this.markSelected(marker);
    this.onSelect(id ? (this.boards.get(id) ?? null) : null, { refreshed: false });
  }

  /** Zooms until the board's own dot shows, then selects it. */
  reveal(id) {
    const marker = this.markers.get(id);
    if (!marker) return false;
    this.cluster.zoomToShowLayer(marker, () => this.select(id));
    return true;
  }

  /** Every dot is on the map (the cluster group adds them in chunks). */
  drawn() {
    document.body.dataset.fleetDrawn = String(this.markers.size);
  }

  showUnreachable(error) {
    this.banner.hidden = false;
    const seconds = Math.round((this.retryAt - Date.now()) / 1000);
    const what = error instanceof ApiError && error.kind === "http" ? `${error.message} · ` : "";
    this.banner.textContent = what + t("apiUnreachable", seconds);
  }

  showStatus() {
    if (!this.readAt) {
      this.statusLine.textContent = t("notYetRead");
      return;
    }
    const ms = Date.now() - this.readAt.getTime();
    const stale = ms > STALE_MS;
    this.statusLine.textContent = t("boardsRead", this.boards.size.toLocaleString(), clock(this.readAt), age(ms));
    this.statusLine.classList.toggle("stale", stale);
    this.map.getContainer().classList.toggle("stale", stale);
    if (!this.banner.hidden && this.retryAt) this.showUnreachable(this.lastError);
  }
}

/** The board's path on the API. */
export function boardPath(id) {
  return `/kickboards/${seg(id)}`;
}
