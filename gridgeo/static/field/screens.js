// The screens' contents: Today, Scan, Report and My reports.
import { authorised, getJson } from './api.js';
import { t } from './i18n.js';
import { areaTiles, fieldStyle, here, placePin } from './map.js';
import { place, positionFix } from './position.js';
import * as queue from './queue.js';
import { RESULTS, readQr, startCamera, stopCamera, takePhoto, target } from './scan.js';

const $ = (id) => document.getElementById(id);
const WORKING_ZOOMS = [13, 14, 15, 16];
const MAX_AREA_TILES = 600;
let lastScan = null;

function list(id, rows, text, colour = () => '') {
  const node = $(id);
  node.replaceChildren();
  for (const row of rows) {
    const item = document.createElement('li');
    item.textContent = text(row);
    if (colour(row)) item.classList.add(colour(row));
    if (row.position) {  // a due target or a case: a tap shows it on the map
      item.classList.add('placed');
      item.addEventListener('click', () => document.dispatchEvent(
        new CustomEvent('field:locate', { detail: row.position })));
    }
    node.appendChild(item);
  }
  if (!rows.length) node.innerHTML = `<li>${t('none')}</li>`;
}

// /me/today (lists and geometries) or, from an older server, /me (names and counts).
export function renderToday(today) {
  if (!today) return;
  const grids = today.grids?.features?.map((f) => f.properties) ?? today.grids ?? [];
  list('grid-list', grids, (g) => `${g.code} ${g.name ?? ''}`);
  const due = today.due ?? {};
  const counted = (value) => (Array.isArray(value) ? value : value ? [{ count: value }] : []);
  const dueText = (d) => (d.count !== undefined ? `${d.count}`
    : `${d.gh_no ?? d.adit_no ?? ''} ${d.name ?? d.use ?? ''}`
      + (d.days_overdue ? ` · ${d.days_overdue} d` : ''));
  list('due-greenhouses', counted(due.greenhouses), dueText);
  list('due-adits', counted(due.adits ?? due.mine_tunnels), dueText);
  list('case-list', today.cases ?? today.open_cases ?? [],
       (c) => `${c.case_no} ${c.title ?? c.category_name ?? ''} · ${t(`s_${c.state}`)}`,
       (c) => c.colour);
  list('route-list', today.routes ?? today.routes_today ?? [],
       (r) => `${r.route_no} ${r.name ?? ''}${r.stops ? ` · ${r.stops.length} ${t('stops')}` : ''}`);
}

// Fetch my area's tiles once a day so the service worker has them offline (bounded
// count), two at a time: the worker's own requests must not wait behind them.
export async function prefetchArea(bbox) {
  const done = `${new Date().toDateString()} ${bbox.join(',')}`;
  if (localStorage.getItem('gridgeo.prefetched') === done) return;
  // The server's own list (/me/tiles: tiles, style, glyphs, hillshade) where it has one.
  const pack = await getJson(`/me/tiles?zooms=${WORKING_ZOOMS[1]}-${WORKING_ZOOMS.at(-1)}`);
  const urls = pack?.tiles
    ? [...pack.assets ?? [], ...pack.tiles].slice(0, MAX_AREA_TILES).map(here)
    : areaTiles(await fieldStyle(), bbox, WORKING_ZOOMS, MAX_AREA_TILES);
  for (let i = 0; i < urls.length; i += 2) {
    await Promise.all(urls.slice(i, i + 2).map(
      (url) => fetch(url, { headers: authorised() }).catch(() => null)));
  }
  localStorage.setItem('gridgeo.prefetched', done);
}

function verdict(item) {
  if (item.state === 'refused') return [item.message, 'flagged'];
  if (item.state !== 'sent') return [t('queuedOk'), ''];
  const o = item.outcome;
  const distance = o.distance_m === null ? '' : ` · ${t('distance')} ${Math.round(o.distance_m)} m`;
  if (o.flagged) return [`${t('outside')}${distance}: ${o.flag_reason ?? t('flagged')}`, 'flagged'];
  return [`${t('sentOk')} · ${t('within')}${distance}`, 'ok'];
}

async function sendScan(found, result, scannedAt, at) {
  const body = { target: found.text, result, scanned_at: scannedAt, position: at.lonlat,
                 accuracy_m: at.accuracy };
  $('results').replaceChildren();
  lastScan = (await queue.enqueue('scan', body)).key;
  await showVerdict();
  await queue.flush();
}

// The verdict of the last scan, shown again whenever the outbox changes (sent later).
async function showVerdict() {
  const item = (await queue.items()).find((i) => i.key === lastScan);
  if (!item) return;
  const [text, kind] = verdict(item);
  $('verdict').textContent = text;
  $('verdict').className = kind;
}

function offerResults(found, scannedAt, at) {
  $('results').replaceChildren(...RESULTS[found.collection].map((result) => {
    const button = document.createElement('button');
    button.textContent = t(`r_${result}`);
    button.dataset.result = result;
    button.addEventListener('click', () => sendScan(found, result, scannedAt, at));
    return button;
  }));
}

export function setupScan() {
  let scanning = false;
  queue.onChange(showVerdict);
  $('camera').addEventListener('click', async () => {
    if (!(await positionFix())) { $('scan-status').textContent = t('noGps'); return; }
    scanning = true;
    $('verdict').textContent = '';
    $('plate').textContent = '';
    $('scan-status').textContent = t('scanning');
    $('video').hidden = false;
    await startCamera($('video'));
    const text = await readQr($('video'), $('frame'), () => scanning);
    scanning = false;
    stopCamera($('video'));
    $('video').hidden = true;
    const found = text && target(text);
    // The time and place are those of the scan, not of a later send from the queue.
    const scannedAt = new Date().toISOString();
    const at = { lonlat: [...place.lonlat], accuracy: place.accuracy };
    $('scan-status').textContent = found ? `${t('scanned')}: ${t(found.collection)} ${found.code}` : text;
    if (found) offerResults({ ...found, text }, scannedAt, at);
    if (found?.collection === 'addresses') showPlate(found.code);
  });
}

// A door plate leads to its address, its grid and the grid's workers (when online).
async function showPlate(code) {
  const page = await getJson(`/collections/addresses/items?address_code=${encodeURIComponent(code)}&f=json`);
  const plate = page?.features?.[0]?.properties;
  $('plate').textContent = plate ? `${plate.full_address} · ${plate.grid_name ?? ''} `
    + `(${plate.grid_code ?? '-'}) · ${t('worker')}: ${plate.grid_worker_names ?? '-'} `
    + `${plate.grid_worker_phones ?? ''}` : '';
}

export async function loadCategories() {
  const services = (await getJson('/open311/v2/services.json')) ?? [];
  $('category').replaceChildren(...services.map((s) => new Option(s.service_name, s.service_code)));
}

export function setupReport() {
  const photos = [];
  const addPhoto = (photo) => {
    photos.push(photo);
    const img = document.createElement('img');
    img.src = URL.createObjectURL(photo);
    $('thumbs').appendChild(img);
  };
  let pin = null;
  loadCategories();
  const where = () => {
    const at = pin ? pin() : place.lonlat;
    $('where').textContent = at ? `${at[0].toFixed(6)}, ${at[1].toFixed(6)}` : t('noGps');
    return at;
  };
  document.querySelector('nav [data-screen="report"]').addEventListener('click', async () => {
    if (!pin && (await positionFix())) pin = placePin(place.lonlat, where);
    where();
  });
  $('photo').addEventListener('click', async () => {
    $('report-video').hidden = false;
    await startCamera($('report-video'));
    const photo = await takePhoto($('report-video'), $('frame'));
    stopCamera($('report-video'));
    $('report-video').hidden = true;
    addPhoto(photo);
  });
  // Files picked are sent as they are: the server reads a photo's EXIF time and place.
  $('photo-file').addEventListener('change', () => {
    [...$('photo-file').files].forEach(addPhoto);
    $('photo-file').value = '';
  });
  $('submit').addEventListener('click', async () => {
    await positionFix();
    const at = where();
    if (!at) return;
    const select = $('category');
    const feature = { type: 'Feature', geometry: { type: 'Point', coordinates: at },
                      properties: { category_code: select.value, source: 'grid_worker',
                                    title: select.selectedOptions[0]?.text ?? select.value,
                                    description: $('description').value || null,
                                    reported_at: new Date().toISOString() } };
    const item = await queue.enqueue('incident', feature, photos.splice(0));
    if (pin) pin(true);
    pin = null;
    $('thumbs').replaceChildren();
    $('description').value = '';
    $('report-status').textContent = t('queuedOk');
    await queue.flush();
    const sent = (await queue.items()).find((i) => i.key === item.key);
    const states = { sent: t('sentOk'), refused: sent.message, waiting: t('queuedOk') };
    $('report-status').textContent = states[sent.state];
  });
}

async function serverState(item) {
  if (item.kind !== 'incident' || item.state !== 'sent') return '';
  const feature = await getJson(`/collections/incidents/items/${item.incident_id}?f=json`);
  return feature ? ` · ${feature.properties.case_no ?? ''} ${t(`s_${feature.properties.state}`)}` : '';
}

export async function renderReports() {
  const rows = (await queue.items()).reverse();
  const lines = [];  // built first, shown at once: renders may overlap
  for (const item of rows) {
    const li = document.createElement('li');
    li.dataset.key = item.key;
    li.dataset.state = item.state;
    const when = new Date(item.queued_at).toLocaleString();
    const what = item.kind === 'scan' ? `${t('scan')} ${item.body.target.split('/q/')[1] ?? ''}`
      : `${t('report')} ${item.body.properties.title}`;
    li.textContent = `${when} · ${what}`;
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = t(item.state) + (await serverState(item));
    li.appendChild(state);
    if (item.state === 'refused') {
      const message = document.createElement('span');
      message.className = 'message';
      message.textContent = item.message;
      const drop = document.createElement('button');
      drop.textContent = t('drop');
      drop.addEventListener('click', async () => { await queue.remove(item.key); renderReports(); });
      li.append(message, drop);
    }
    lines.push(li);
  }
  $('report-list').replaceChildren(...lines);
  if (!rows.length) $('report-list').innerHTML = `<li>${t('noReports')}</li>`;
}
