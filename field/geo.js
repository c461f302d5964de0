// Geometry on the phone: distances, the nearest reach and its 桩号, tile lists. Pure functions,
// WGS84 longitude/latitude in decimal degrees, lengths in metres.

const EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;

/** Great-circle distance between two points, in metres. */
export function haversineM(lon1, lat1, lon2, lat2) {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The parts (arrays of [lon, lat]) of a GeoJSON LineString or MultiLineString. */
export function lineParts(geometry) {
  if (!geometry) return [];
  if (geometry.type === "LineString") return [geometry.coordinates];
  if (geometry.type === "MultiLineString") return geometry.coordinates;
  return [];
}

/**
 * Where a point lies along a line: distance from the point to the line and the station (distance
 * along the line from its first vertex to the nearest point), both in metres. The parts of a
 * MultiLineString are measured one after the other, in their order.
 * Locally the plane is equirectangular around the point (good to well under 1 % at the scale of a reach).
 */
export function locateOnLine(geometry, lon, lat) {
  const kx = Math.cos(lat * RAD) * EARTH_RADIUS_M * RAD;
  const ky = EARTH_RADIUS_M * RAD;
  let best = null;
  let offset = 0;
  for (const part of lineParts(geometry)) {
    for (let i = 0; i + 1 < part.length; i++) {
      const [x1, y1] = [(part[i][0] - lon) * kx, (part[i][1] - lat) * ky];
      const [x2, y2] = [(part[i + 1][0] - lon) * kx, (part[i + 1][1] - lat) * ky];
      const dx = x2 - x1;
      const dy = y2 - y1;
      const len2 = dx * dx + dy * dy;
      const t = len2 > 0 ? Math.max(0, Math.min(1, -(x1 * dx + y1 * dy) / len2)) : 0;
      const px = x1 + t * dx;
      const py = y1 + t * dy;
      const distance = Math.hypot(px, py);
      const segment = haversineM(part[i][0], part[i][1], part[i + 1][0], part[i + 1][1]);
      if (best === null || distance < best.distanceM) {
        best = { distanceM: distance, stationM: offset + t * segment };
      }
      offset += segment;
    }
  }
  return best;
}

/** The reach nearest to a point: {reach, distanceM, stationM}, or null when there is none. */
export function nearestReach(reaches, lon, lat) {
  let best = null;
  for (const reach of reaches || []) {
    const where = locateOnLine(reach.geometry, lon, lat);
    if (where && (best === null || where.distanceM < best.distanceM)) {
      best = { reach, ...where };
    }
  }
  return best;
}

/** A station in metres as a 桩号: 1234.4 → "K1+234". */
export function formatStation(stationM) {
  const m = Math.max(0, Math.round(stationM));
  return `K${Math.floor(m / 1000)}+${String(m % 1000).padStart(3, "0")}`;
}

/** A length in metres as kilometres with two decimals: 1234 → "1.23". */
export function formatKm(lengthM) {
  return (Math.max(0, lengthM) / 1000).toFixed(2);
}

/**
 * The distance a walk adds with a new fix. A fix adds its step from the last counted position only
 * when the step is longer than the fix's uncertainty (at least 5 m, at most 30 m), so that standing
 * still with a wandering GPS does not add up to kilometres. Fixes worse than 100 m are not counted.
 * Returns {addM, counted} where counted is the new last counted position ([lon, lat]) or the old one.
 */
export function walkStep(lastCounted, lon, lat, accuracyM) {
  if (accuracyM != null && accuracyM > 100) return { addM: 0, counted: lastCounted };
  if (!lastCounted) return { addM: 0, counted: [lon, lat] };
  const step = haversineM(lastCounted[0], lastCounted[1], lon, lat);
  const threshold = Math.min(30, Math.max(5, accuracyM ?? 10));
  if (step < threshold) return { addM: 0, counted: lastCounted };
  return { addM: step, counted: [lon, lat] };
}

/** Elapsed time in seconds as H:MM:SS. */
export function formatElapsed(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** Web-mercator tile (x, y) holding a point at zoom z. */
export function tileOf(lon, lat, z) {
  const n = 2 ** z;
  const clampedLat = Math.max(-85.0511, Math.min(85.0511, lat));
  const x = Math.floor(((lon + 180) / 360) * n);
  const r = clampedLat * RAD;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))];
}

/** The tiles [z, x, y] covering bounds [minx, miny, maxx, maxy] at each zoom of zooms, at most limit. */
export function tilesCovering(bounds, zooms, limit = 800) {
  const [minx, miny, maxx, maxy] = bounds;
  const out = [];
  for (const z of zooms) {
    const [x0, y0] = tileOf(minx, maxy, z);
    const [x1, y1] = tileOf(maxx, miny, z);
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        if (out.length >= limit) return out;
        out.push([z, x, y]);
      }
    }
  }
  return out;
}

/** The bounds [minx, miny, maxx, maxy] holding all the given bounds (null when none). */
export function unionBounds(list) {
  const valid = (list || []).filter((b) => Array.isArray(b) && b.length === 4);
  if (valid.length === 0) return null;
  return [
    Math.min(...valid.map((b) => b[0])),
    Math.min(...valid.map((b) => b[1])),
    Math.max(...valid.map((b) => b[2])),
    Math.max(...valid.map((b) => b[3])),
  ];
}

/** The overlap of two bounds, or null when they do not overlap. */
export function intersectBounds(a, b) {
  const out = [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
  return out[0] <= out[2] && out[1] <= out[3] ? out : null;
}
