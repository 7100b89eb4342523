// The field map: gridgeo's own vector tiles and styles over the DEM hillshade, my
// grids, today's routes with numbered stops, and my position. MapLibre is loaded by a
// classic <script> (the vendored UMD build) and found as window.maplibregl.
import { authorised, getJson } from './api.js';

// The collections drawn when the server offers no field style of its own (/field/style.json).
const LAYERS = ['grids', 'roads', 'addresses', 'greenhouses', 'mine_tunnels'];
const TOWN_CENTRE = [111.5, 33.5];
let map = null;
let me = null;
const stopMarkers = [];

// Every piece of the field style is this server's: fetch it from the origin the app was
// loaded from (the phone may know the server by another name than its public URL), as
// an absolute URL (MapLibre's workers need one).
export function here(url) {
  return url.startsWith('/') ? `${location.origin}${url}`
    : url.replace(/^https?:\/\/[^/]+/, location.origin);
}

function localDay() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return [`${now.getFullYear()}-${pad(now.getMonth() + 1)}`, pad(now.getDate())];
}

function withAbsoluteTiles(style) {
  for (const source of Object.values(style.sources || {})) {
    if (source.tiles) source.tiles = source.tiles.map(here);
    for (const key of ['url', 'data']) {
      if (typeof source[key] === 'string') source[key] = here(source[key]);
    }
  }
  if (style.glyphs) style.glyphs = here(style.glyphs);
  return style;
}

// One style from the collections' own MapLibre styles (no text labels: no glyphs needed).
async function mergedStyle() {
  const [month, day] = localDay();
  const style = { version: 8, sources: {}, layers: [],
                  state: { today: { default: `${month}-${day}` }, month: { default: month } } };
  const parts = await Promise.all(LAYERS.map((id) => getJson(`/styles/${id}/maplibre`)));
  for (const part of parts.filter(Boolean)) {
    Object.assign(style.sources, part.sources);
    style.layers.push(...part.layers.filter((layer) => layer.type !== 'symbol'));
  }
  return style;
}

async function hillshade(style) {
  const shade = await getJson('/overview/hillshade.json');
  if (!shade) return;
  const [[south, west], [north, east]] = shade.bounds;
  style.sources.hillshade = { type: 'image', url: '/overview/hillshade.png',
                              coordinates: [[west, north], [east, north], [east, south], [west, south]] };
  style.layers.unshift({ id: 'hillshade', type: 'raster', source: 'hillshade',
                         paint: { 'raster-opacity': 0.55 } });
}

export async function fieldStyle() {
  const style = (await getJson('/field/style.json')) || (await mergedStyle());
  if (!style.sources.hillshade) await hillshade(style);
  return withAbsoluteTiles(style);
}

// The tile URLs of the style's vector sources over bbox at the working zooms, at most max.
export function areaTiles(style, bbox, zooms, max) {
  const templates = Object.values(style.sources).filter((s) => s.type === 'vector' && s.tiles)
    .map((s) => s.tiles[0]);
  const urls = [];
  for (const z of zooms) {
    const [x0, y0] = tileOf(bbox[0], bbox[3], z);
    const [x1, y1] = tileOf(bbox[2], bbox[1], z);
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        for (const template of templates) {
          if (urls.length >= max) return urls;
          urls.push(template.replace('{z}', z).replace('{x}', x).replace('{y}', y));
        }
      }
    }
  }
  return urls;
}

function tileOf(lon, lat, z) {
  const n = 2 ** z;
  const rad = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n),
          Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n)];
}

export async function createMap(container) {
  const style = await fieldStyle();
  // This server's pieces go with the worker's credentials (adits are not public data).
  const transformRequest = (url) => (url.startsWith(location.origin)
    ? { url, headers: authorised() } : { url });
  map = new window.maplibregl.Map({ container, style, center: TOWN_CENTRE, zoom: 13,
                                    transformRequest,
                                    localIdeographFontFamily: "'Noto Sans CJK SC', 'PingFang SC', sans-serif",
                                    attributionControl: false });
  await new Promise((resolve) => map.once('load', resolve));
  return { map, style };
}

export function showToday(today) {
  if (!map || !today) return;
  const grids = today.grids?.type === 'FeatureCollection' ? today.grids : null;
  if (grids) addLines('my-grids', grids, '#d9480f', 3);
  const routes = (today.routes || []).filter((r) => r.geometry);
  addLines('routes', { type: 'FeatureCollection', features: routes.map((r) => ({
    type: 'Feature', geometry: r.geometry, properties: { route_no: r.route_no } })) }, '#1c7ed6', 5);
  stopMarkers.splice(0).forEach((marker) => marker.remove());
  for (const route of routes) {
    for (const stop of route.stops || []) stopMarkers.push(stopMarker(stop));
  }
  if (today.bbox) map.fitBounds([[today.bbox[0], today.bbox[1]], [today.bbox[2], today.bbox[3]]],
                                { padding: 24, animate: false });
}

// A numbered stop of a route (/me/today's stops: seq, name, task, lon, lat); a tap
// opens its task.
function stopMarker(stop) {
  const label = document.createElement('div');
  label.className = 'stop';
  label.textContent = String(stop.seq);
  const task = new window.maplibregl.Popup({ offset: 16 })
    .setText(`${stop.seq}. ${stop.name ?? stop.code ?? ''}${stop.task ? ` · ${stop.task}` : ''}`);
  return new window.maplibregl.Marker({ element: label }).setLngLat([stop.lon, stop.lat])
    .setPopup(task).addTo(map);
}

function addLines(id, data, colour, width) {
  if (map.getSource(id)) {
    map.getSource(id).setData(data);
    return;
  }
  map.addSource(id, { type: 'geojson', data });
  map.addLayer({ id, type: 'line', source: id, paint: { 'line-color': colour, 'line-width': width } });
}

export function showPosition(position) {
  if (!map || !position?.lonlat) return;
  if (!me) {
    const dot = document.createElement('div');
    dot.className = 'me';
    me = new window.maplibregl.Marker({ element: dot }).setLngLat(position.lonlat).addTo(map);
    map.jumpTo({ center: position.lonlat, zoom: Math.max(map.getZoom(), 15) });
  }
  me.setLngLat(position.lonlat);
}

// A draggable pin for a report's place; returns a function that reads where it is.
export function placePin(lonlat, onMove) {
  if (!map) return () => lonlat;
  const pin = new window.maplibregl.Marker({ draggable: true, color: '#e03131' })
    .setLngLat(lonlat).addTo(map);
  pin.on('dragend', () => onMove());
  map.jumpTo({ center: lonlat });
  return (done) => {
    const at = pin.getLngLat();
    if (done) pin.remove();
    return [at.lng, at.lat];
  };
}

export function resize() {
  map?.resize();
}

// [west, south, east, north] of GeoJSON features, or null for none.
export function bboxOf(features) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(visit);
  };
  features.forEach((f) => f.geometry && visit(f.geometry.coordinates));
  return box[0] === Infinity ? null : box;
}

export function centreOn(lonlat) {
  map?.jumpTo({ center: lonlat, zoom: Math.max(map.getZoom(), 17) });
}
