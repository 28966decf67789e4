// The map of Finland: regions (or ELY areas) coloured by their open changes, click or Enter to
// filter, and drill down from the country to an ELY area's regions and a region's municipalities. Boundaries: National Land Survey
// of Finland (Maanmittauslaitos), administrative areas 2023, CC BY 4.0, simplified
// (scripts/build_map.py); loaded from this server only. The places table beside it is the
// same information for screen readers and keyboards that prefer a table.

const SVG_NS = "http://www.w3.org/2000/svg";
const RANK = { watch: 1, warning: 2, notable: 2, critical: 3, strong: 3 };

let geometry = null;
let loading = null;

/** The simplified boundaries, fetched once. */
export function loadGeometry() {
  if (geometry) return Promise.resolve(geometry);
  if (!loading) {
    loading = fetch("/static/fi_map.json", { cache: "force-cache" })
      .then((r) => (r.ok ? r.json() : null))
      .then((g) => { geometry = g; return g; })
      .catch(() => null);
  }
  return loading;
}

/** Open changes per area among ``alerts`` (counted where they lie and in every area above). */
function tally(alerts) {
  const out = new Map();
  for (const alert of alerts) {
    if (alert.status === "resolved") continue;
    for (const code of [alert.area, ...(alert.parents || [])]) {
      const entry = out.get(code) || { negative: 0, positive: 0, negRank: 0, posRank: 0, impact: 0 };
      const rank = RANK[alert.severity] || 1;
      if (alert.polarity === "negative") {
        entry.negative += 1;
        entry.negRank = Math.max(entry.negRank, rank);
      } else {
        entry.positive += 1;
        entry.posRank = Math.max(entry.posRank, rank);
      }
      entry.impact += alert.impact || 0;
      out.set(code, entry);
    }
  }
  return out;
}

/** The colour class of an area: negative changes first (they need action), then positive. */
export function tone(entry) {
  if (!entry) return "none";
  if (entry.negative > 0) return `neg-${entry.negRank}`;
  if (entry.positive > 0) return `pos-${entry.posRank}`;
  return "none";
}

/**
 * Draw the map into ``container``.
 * options: alerts (the picture's list), areas (code -> {parent, name}), selected (area code or
 * ""), layer ("regions" or "ely": what the whole country is drawn as), name(code) -> text,
 * label(key, params) -> text, choose(code).
 *
 * The levels: the country (its regions, or its ELY areas on the ELY layer), an ELY area (its
 * regions), a region and anything under it (the region's municipalities).
 */
export function renderMap(container, options) {
  const g = geometry;
  if (!g) return;
  const { alerts, areas, selected, name, label, choose } = options;
  const counts = tally(alerts);
  const region = regionOf(selected, areas);
  const ely = selected && selected.startsWith("ELY") ? selected : null;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "fi-map");
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-label", label("map.label"));
  let shapes;
  let level = "regions";
  if (region && g.regions[region]) {
    // Drilled down: the region's municipalities.
    shapes = Object.entries(g.municipalities).filter(([code]) => regionOf(code, areas) === region);
    level = "municipalities";
  } else if (ely) {
    // An ELY area: its regions.
    shapes = Object.entries(g.regions).filter(([code]) => elyOf(code, areas) === ely);
    if (!shapes.length) shapes = Object.entries(g.regions);
  } else if (options.layer === "ely") {
    // The country as ELY areas: each one the union of its regions' outlines.
    shapes = elyShapes(g.regions, areas);
    level = "ely";
  } else {
    shapes = Object.entries(g.regions);
  }
  const box = bounds(shapes.map(([, d]) => d)) || g.viewBox.split(" ").map(Number);
  svg.setAttribute("viewBox", box.join(" "));
  for (const [code, d] of shapes) {
    if (!d) continue;
    const entry = counts.get(code);
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    const kind = level === "ely" ? " map-ely" : "";
    path.setAttribute("class", `map-area${kind} tone-${tone(entry)}${selected === code ? " selected" : ""}`);
    path.setAttribute("tabindex", "0");
    path.setAttribute("role", "button");
    const text = label("map.area", {
      name: name(code), code, negative: entry ? entry.negative : 0, positive: entry ? entry.positive : 0,
    });
    path.setAttribute("aria-label", text);
    if (selected === code) path.setAttribute("aria-pressed", "true");
    path.dataset.area = code;
    path.dataset.tone = tone(entry);
    path.dataset.negative = String(entry ? entry.negative : 0);
    path.dataset.positive = String(entry ? entry.positive : 0);
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = text;
    path.append(title);
    path.addEventListener("click", () => choose(code));
    path.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose(code);
      }
    });
    svg.append(path);
  }
  if (level === "ely") {
    // The ELY areas' outlines over the fills: the borders their regions do not share.
    for (const [code, d] of shapes) {
      const outline = document.createElementNS(SVG_NS, "path");
      outline.setAttribute("d", outerEdges(d));
      outline.setAttribute("class", "map-ely-outline");
      outline.setAttribute("aria-hidden", "true");
      outline.dataset.outline = code;
      svg.append(outline);
    }
  }
  container.replaceChildren(svg);
  container.dataset.level = level;
  container.dataset.region = region || "";
  container.dataset.ely = ely || elyOf(region, areas) || "";
}

/** The ELY areas as shapes: each the paths of the regions under it, in one outline. */
function elyShapes(regions, areas) {
  const grouped = new Map();
  for (const [code, d] of Object.entries(regions)) {
    const ely = elyOf(code, areas);
    if (!ely || !d) continue;
    grouped.set(ely, `${grouped.get(ely) || ""}${d}`);
  }
  return [...grouped.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/**
 * The edges of a path's rings that no other ring of it shares, as a path of segments. The
 * simplified boundaries keep shared borders identical, so the edges between two regions of one
 * ELY area cancel and what is left is the ELY area's own outline.
 */
export function outerEdges(d) {
  const seen = new Map();
  for (const ring of d.split(/(?=M)/)) {
    const numbers = (ring.match(/-?\d+(?:\.\d+)?/g) || []).map(Number);
    const points = [];
    for (let i = 0; i + 1 < numbers.length; i += 2) points.push([numbers[i], numbers[i + 1]]);
    if (points.length < 2) continue;
    points.push(points[0]);
    for (let i = 0; i + 1 < points.length; i += 1) {
      const [a, b] = [points[i], points[i + 1]];
      if (a[0] === b[0] && a[1] === b[1]) continue;
      const key = [a.join(","), b.join(",")].sort().join(";");
      seen.set(key, seen.has(key) ? null : `M${a[0]} ${a[1]}L${b[0]} ${b[1]}`);
    }
  }
  return [...seen.values()].filter(Boolean).join("");
}

/** The ELY area an area lies in, or null (the country). */
export function elyOf(code, areas) {
  let current = code;
  for (let i = 0; current && i < 6; i += 1) {
    if (current.startsWith("ELY")) return current;
    const area = areas.get(current);
    current = area ? area.parent : null;
  }
  return null;
}

/** The region (MK) an area lies in, or null (the country, an ELY area). */
export function regionOf(code, areas) {
  let current = code;
  for (let i = 0; current && i < 6; i += 1) {
    if (current.startsWith("MK")) return current;
    const area = areas.get(current);
    current = area ? area.parent : null;
  }
  return null;
}

function bounds(paths) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const d of paths) {
    if (!d) continue;
    const numbers = d.match(/-?\d+/g) || [];
    for (let i = 0; i + 1 < numbers.length; i += 2) {
      const x = Number(numbers[i]), y = Number(numbers[i + 1]);
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  if (!Number.isFinite(minX)) return null;
  const pad = 4;
  return [minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad];
}
