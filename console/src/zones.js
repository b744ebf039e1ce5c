// Zones: drawn from GET /geofencing/zones with their rules, and drawn by hand: click the map
// to add vertices, finish, then name the zone and tick its rules. Select one to edit or delete it.

import { ApiError, seg } from "./api.js";
import { t } from "./i18n.js";

const L = window.L;

/** A zone id from its name: lowercase ASCII letters, digits and dashes. */
export function slugify(name) {
  const slug = name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48);
  return slug || `zone-${Date.now().toString(36)}`;
}

function rulesText(rules) {
  const yn = (allowed) => t(allowed ? "yes" : "no");
  const speed = rules.maximumSpeedKph == null ? t("noLimit") : t("kph", rules.maximumSpeedKph);
  return t("zoneRules", yn(rules.rideStartAllowed), yn(rules.rideEndAllowed), yn(rules.rideThroughAllowed), speed);
}

/** No end: red; no start: orange; otherwise blue. */
function zoneColour(rules) {
  if (!rules.rideEndAllowed) return "#c92a2a";
  if (!rules.rideStartAllowed || !rules.rideThroughAllowed) return "#e8590c";
  return "#1c6fd1";
}

/** GeoJSON [lon, lat] rings to Leaflet's [lat, lon]. */
function latLngsOf(geometry) {
  const ring = (positions) => positions.map(([lon, lat]) => [lat, lon]);
  const polygon = (rings) => rings.map(ring);
  return geometry.type === "MultiPolygon" ? geometry.coordinates.map(polygon) : polygon(geometry.coordinates);
}

export class Zones {
  constructor(map, api) {
    this.map = map;
    this.api = api;
    this.layer = L.layerGroup().addTo(map);
    this.zones = [];
    this.editing = null; // the zone being edited, or null for a new one
    this.drawing = false;
    this.vertices = [];
    this.geometry = null;
    this.sketch = L.layerGroup().addTo(map);
    this.el = (id) => document.getElementById(id);
    this.form = this.el("zone-form");
    this.idTouched = false;

    this.el("draw-zone").addEventListener("click", () => this.startDrawing());
    this.el("finish-drawing").addEventListener("click", () => this.finishDrawing());
    this.el("cancel-drawing").addEventListener("click", () => this.stopDrawing());
    this.el("zone-cancel").addEventListener("click", () => this.closeForm());
    this.el("zone-delete").addEventListener("click", () => this.remove());
    this.el("zone-name").addEventListener("input", () => {
      if (!this.editing && !this.idTouched) this.el("zone-id").value = slugify(this.el("zone-name").value);
    });
    this.el("zone-id").addEventListener("input", () => (this.idTouched = true));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    map.on("click", (event) => this.addVertex(event.latlng));
  }

  async load() {
    this.zones = await this.api.get("/geofencing/zones");
    this.render();
  }

  render() {
    this.layer.clearLayers();
    const list = this.el("zone-list");
    list.replaceChildren();
    if (!this.zones.length) {
      const empty = document.createElement("li");
      empty.textContent = t("noZones");
      list.append(empty);
    }
    for (const zone of this.zones) {
      const polygon = L.polygon(latLngsOf(zone.geometry), {
        color: zoneColour(zone.rules),
        weight: 2,
        fillOpacity: 0.12,
      });
      polygon.bindTooltip(() => this.tip(zone), { sticky: true });
      polygon.on("click", () => {
        // While drawing, a click inside a zone is a vertex (the map gets it too), not a selection.
        if (!this.drawing) this.edit(zone);
      });
      this.layer.addLayer(polygon);

      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = zone.name;
      button.dataset.zoneId = zone.zoneId;
      button.addEventListener("click", () => {
        this.map.fitBounds(polygon.getBounds(), { maxZoom: 17 });
        this.edit(zone);
      });
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = `${zone.zoneId} · ${t("priorityShort", zone.priority)} · ${rulesText(zone.rules)}`;
      item.append(button, meta);
      list.append(item);
    }
  }

  /** The tooltip, built as elements: a zone's name is text, whatever it holds. */
  tip(zone) {
    const tip = document.createElement("div");
    tip.className = "zone-tip";
    const name = document.createElement("strong");
    name.textContent = zone.name;
    const rules = document.createElement("span");
    rules.textContent = `${t("priorityShort", zone.priority)} · ${rulesText(zone.rules)}`;
    tip.append(name, rules);
    return tip;
  }

  startDrawing() {
    this.closeForm();
    this.drawing = true;
    this.vertices = [];
    this.el("drawing").hidden = false;
    this.el("draw-zone").disabled = true;
    this.map.getContainer().classList.add("drawing");
    this.map.doubleClickZoom.disable();
    this.redrawSketch();
  }

  addVertex(latlng) {
    if (!this.drawing) return;
    this.vertices.push(latlng);
    this.redrawSketch();
  }

  redrawSketch() {
    this.sketch.clearLayers();
    const vertices = this.vertices;
    if (vertices.length >= 2) {
      const shape = vertices.length >= 3 ? L.polygon(vertices) : L.polyline(vertices);
      shape.setStyle({ color: "#d6336c", weight: 2, dashArray: "4 4", fillOpacity: 0.1, interactive: false });
      this.sketch.addLayer(shape);
    }
    for (const vertex of vertices) {
      this.sketch.addLayer(L.circleMarker(vertex, { radius: 4, color: "#d6336c", interactive: false }));
    }
    this.el("drawing-hint").textContent = t("drawingHint", vertices.length);
    this.el("finish-drawing").disabled = vertices.length < 3;
  }

  finishDrawing() {
    if (this.vertices.length < 3) return;
    const ring = this.vertices.map(({ lat, lng }) => [lng, lat]);
    ring.push(ring[0]);
    const geometry = { type: "Polygon", coordinates: [ring] };
    // Drawing a new outline for a zone being edited keeps its name and rules.
    const editing = this.editing;
    this.stopDrawing({ keepSketch: true });
    this.openForm(editing ? { ...editing, geometry } : null, geometry);
  }

  stopDrawing({ keepSketch = false } = {}) {
    this.drawing = false;
    this.el("drawing").hidden = true;
    this.el("draw-zone").disabled = false;
    this.map.getContainer().classList.remove("drawing");
    this.map.doubleClickZoom.enable();
    if (!keepSketch) this.sketch.clearLayers();
  }

  edit(zone) {
    this.openForm(zone, zone.geometry);
  }

  openForm(zone, geometry) {
    this.editing = zone;
    this.geometry = geometry;
    this.idTouched = false;
    const el = this.el;
    el("zone-name").value = zone?.name ?? "";
    el("zone-id").value = zone?.zoneId ?? "";
    el("zone-id").readOnly = Boolean(zone);
    el("zone-priority").value = zone?.priority ?? 10;
    el("zone-start").checked = zone?.rules.rideStartAllowed ?? true;
    el("zone-end").checked = zone?.rules.rideEndAllowed ?? true;
    el("zone-through").checked = zone?.rules.rideThroughAllowed ?? true;
    el("zone-speed").value = zone?.rules.maximumSpeedKph ?? "";
    el("zone-delete").hidden = !zone || !this.zones.some((z) => z.zoneId === zone.zoneId);
    el("zone-error").textContent = "";
    el("zone-answer").textContent = "";
    this.form.hidden = false;
    el("zone-name").focus();
  }

  closeForm() {
    this.form.hidden = true;
    this.editing = null;
    this.geometry = null;
    this.sketch.clearLayers();
  }

  async save() {
    const el = this.el;
    const speed = el("zone-speed").value.trim();
    const zoneId = el("zone-id").value.trim();
    const body = {
      name: el("zone-name").value,
      priority: Number(el("zone-priority").value),
      geometry: this.geometry,
      rules: {
        rideStartAllowed: el("zone-start").checked,
        rideEndAllowed: el("zone-end").checked,
        rideThroughAllowed: el("zone-through").checked,
        maximumSpeedKph: speed === "" ? null : Number(speed),
      },
    };
    el("zone-error").textContent = "";
    try {
      const saved = await this.api.put(`/geofencing/zones/${seg(zoneId)}`, body);
      this.closeForm();
      el("zone-answer").textContent = t("zoneSaved", saved.name);
      await this.load();
    } catch (error) {
      // Next to the form, the API's own words (a bad polygon's 400 detail).
      el("zone-error").textContent = error instanceof ApiError ? error.message : String(error);
    }
  }

  async remove() {
    const zone = this.editing;
    if (!zone || !confirm(t("deleteZoneConfirm", zone.name))) return;
    try {
      await this.api.delete(`/geofencing/zones/${seg(zone.zoneId)}`);
      this.closeForm();
      this.el("zone-answer").textContent = t("zoneDeleted", zone.name);
      await this.load();
    } catch (error) {
      this.el("zone-error").textContent = error instanceof ApiError ? error.message : String(error);
    }
  }
}
