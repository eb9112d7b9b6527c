"""Build the console's tile-free base map from the public boundary data in ``../shared/data/public``.

    python3 scripts/basemap.py [--province 32] [--data ../shared/data/public] [--out api/console/static/basemap]

Writes ``<out>/basemap.geojson``: the prefecture outlines of one province (decoded from
``cn-prefectures.topojson``) and the outlines of every province (``cn-provinces.geojson``), simplified with
shapely (tolerance in degrees) and rounded to 4 decimals (about 10 m), each feature with ``name``, ``code`` and
``level`` (``province`` | ``prefecture``). Coordinates are longitude/latitude in degrees as the source gives them
(the console draws them as EPSG:4490; CGCS2000 and WGS 84 differ by centimetres). Source: BarbarossaWang/cn-atlas
(ISC), as listed in ../shared/data/README.md; the attribution goes into ``<out>/SOURCE.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shapely.geometry import mapping, shape


def _arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """The topology's arcs in degrees: delta-decoded and transformed (TopoJSON spec §2.1.4, §2.2)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indexes:
        points = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        ring.extend(points if not ring else points[1:])
    return ring


def _geometry(arcs, geometry: dict) -> dict:
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [_ring(arcs, r) for r in geometry["arcs"]]}
    return {"type": "MultiPolygon", "coordinates": [[_ring(arcs, r) for r in p] for p in geometry["arcs"]]}


def _rounded(geometry: dict, tolerance: float) -> dict:
    simple = shape(geometry).simplify(tolerance, preserve_topology=True)
    return json.loads(json.dumps(mapping(simple)), parse_float=lambda v: round(float(v), 4))


def build(data: Path, province: str, tolerance: float) -> dict:
    features = []
    for feature in json.loads((data / "cn-provinces.geojson").read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        if feature.get("geometry"):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"name": props["地名"], "code": props["区划码"], "level": "province"},
                    "geometry": _rounded(feature["geometry"], tolerance * 4),
                }
            )
    topology = json.loads((data / "cn-prefectures.topojson").read_text(encoding="utf-8"))
    arcs = _arcs(topology)
    for geometry in topology["objects"]["prefectures"]["geometries"]:
        props = geometry.get("properties") or {}
        if str(props.get("区划码", "")).startswith(province) and geometry.get("arcs"):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"name": props["地名"], "code": props["区划码"], "level": "prefecture"},
                    "geometry": _rounded(_geometry(arcs, geometry), tolerance),
                }
            )
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="32", help="2-digit province code whose prefectures are drawn")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/public")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "api/console/static/basemap")
    parser.add_argument("--tolerance", type=float, default=0.005, help="simplification tolerance, degrees")
    args = parser.parse_args()
    collection = build(args.data, args.province, args.tolerance)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "basemap.geojson"
    target.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (args.out / "SOURCE.md").write_text(
        "# Base map\n\n`basemap.geojson`: province outlines of China and the prefecture outlines of province "
        f"{args.province}, built by `scripts/basemap.py` (simplified, tolerance {args.tolerance}° for prefectures, "
        f"{args.tolerance * 4}° for provinces; 4 decimals) from `cn-provinces.geojson` and `cn-prefectures.topojson` "
        "of BarbarossaWang/cn-atlas (ISC licence), as listed in the project's shared data README. Boundaries are "
        "simplified for orientation only and are not an authoritative map.\n",
        encoding="utf-8",
    )
    print(f"{target}: {len(collection['features'])} features, {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
