"""Build the situation room's map of Finland (``tutka/room/static/fi_map.json``) from the NLS
boundaries in ``../shared/data/fi/geo/``.

Regions (maakunnat) and municipalities, projected once (longitude scaled by the cosine of 64° N,
a plain equirectangular view that keeps Finland's shape), simplified with Douglas–Peucker and
written as SVG path strings with integer coordinates, so the page draws them without a library
and loads nothing from outside. Source: National Land Survey of Finland (Maanmittauslaitos),
Division into administrative areas 2023, CC BY 4.0; simplified by Muutostutka.

    python scripts/build_map.py ../shared/data/fi/geo tutka/room/static/fi_map.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

SCALE = 100.0  # SVG units per degree of latitude
LON0, LAT0 = 19.0, 70.2
COS = math.cos(math.radians(64.0))
ATTRIBUTION = (
    "Boundaries: National Land Survey of Finland (Maanmittauslaitos), administrative areas 2023, "
    "CC BY 4.0 (creativecommons.org/licenses/by/4.0); simplified by Muutostutka."
)


def project(lon: float, lat: float) -> tuple[float, float]:
    return (lon - LON0) * COS * SCALE, (LAT0 - lat) * SCALE


def _dp(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    dx, dy = x2 - x1, y2 - y1
    norm = math.hypot(dx, dy) or 1e-12
    best, index = 0.0, 0
    for i in range(1, len(points) - 1):
        x0, y0 = points[i]
        d = abs(dy * x0 - dx * y0 + x2 * y1 - y2 * x1) / norm
        if d > best:
            best, index = d, i
    if best <= tolerance:
        return [points[0], points[-1]]
    left = _dp(points[: index + 1], tolerance)
    return left[:-1] + _dp(points[index:], tolerance)


def ring_path(ring: list[list[float]], tolerance: float) -> str:
    projected = [project(lon, lat) for lon, lat in ring]
    # A closed ring starts and ends at one point: split it at the point farthest from the start.
    x0, y0 = projected[0]
    far = max(
        range(len(projected)), key=lambda i: math.hypot(projected[i][0] - x0, projected[i][1] - y0)
    )
    points = _dp(projected[: far + 1], tolerance)[:-1] + _dp(projected[far:], tolerance)
    rounded: list[tuple[int, int]] = []
    for x, y in points:
        p = (round(x), round(y))
        if not rounded or p != rounded[-1]:
            rounded.append(p)
    if len(rounded) < 4:
        return ""
    return "M" + "L".join(f"{x} {y}" for x, y in rounded) + "Z"


def feature_path(geometry: dict, tolerance: float, min_ring: float) -> str:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    parts = []
    for polygon in polygons:
        outer = polygon[0]
        xs = [project(*p)[0] for p in outer]
        ys = [project(*p)[1] for p in outer]
        if (max(xs) - min(xs)) * (max(ys) - min(ys)) < min_ring:
            continue  # a skerry: invisible at the room's scale
        parts.append(ring_path(outer, tolerance))
    return "".join(p for p in parts if p)


def main(source: Path, target: Path) -> None:
    regions = json.loads((source / "regions_2023.geojson").read_text(encoding="utf-8"))
    municipalities = json.loads(
        (source / "municipalities_2023.geojson").read_text(encoding="utf-8")
    )
    out: dict[str, object] = {"attribution": ATTRIBUTION, "regions": {}, "municipalities": {}}
    xs: list[float] = []
    ys: list[float] = []
    for feature in regions["features"]:
        code = "MK" + feature["properties"]["NATCODE"].zfill(2)
        d = feature_path(feature["geometry"], 1.2, 4.0)
        out["regions"][code] = d  # type: ignore[index]
        for ring in (
            [feature["geometry"]["coordinates"][0]]
            if feature["geometry"]["type"] == "Polygon"
            else [p[0] for p in feature["geometry"]["coordinates"]]
        ):
            for lon, lat in ring:
                x, y = project(lon, lat)
                xs.append(x)
                ys.append(y)
    for feature in municipalities["features"]:
        code = "KU" + feature["properties"]["NATCODE"].zfill(3)
        out["municipalities"][code] = feature_path(feature["geometry"], 0.8, 1.0)  # type: ignore[index]
    pad = 5
    out["viewBox"] = (
        f"{math.floor(min(xs)) - pad} {math.floor(min(ys)) - pad} "
        f"{math.ceil(max(xs) - min(xs)) + 2 * pad} {math.ceil(max(ys) - min(ys)) + 2 * pad}"
    )
    target.write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    print(
        f"{target}: {target.stat().st_size:,} bytes, {len(out['regions'])} regions, "  # type: ignore[arg-type]
        f"{len(out['municipalities'])} municipalities"
    )  # type: ignore[arg-type]


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
