// The field app's entry: sign-in, the five screens, position, language, the outbox.
import { credential, getJson, signIn, signOut } from './api.js';
import { t, toggleLanguage } from './i18n.js';
import {
  bboxOf, centreOn, createMap, fieldStyle, resize, showPosition, showToday,
} from './map.js';
import { place, watchPosition } from './position.js';
import * as queue from './queue.js';
import {
  loadCategories, prefetchArea, renderReports, renderToday, setupReport, setupScan,
} from './screens.js';

const $ = (id) => document.getElementById(id);
let mapReady = null;
let lastToday = null;
let controlled = Boolean(navigator.serviceWorker?.controller);

function translate() {
  document.querySelectorAll('[data-t]').forEach((node) => { node.textContent = t(node.dataset.t); });
  $('credential').placeholder = t('key');
}

function show(screen) {
  document.querySelectorAll('.screen').forEach((node) => { node.hidden = node.id !== screen; });
  document.querySelectorAll('nav button').forEach((button) => {
    button.classList.toggle('active', button.dataset.screen === screen);
  });
  const slot = screen === 'report' ? $('report-map') : $('map');
  slot.appendChild($('mapbox'));  // one map, shown where it is needed
  resize();
  if (screen === 'mine') renderReports();
}

async function countQueued() {
  const waiting = (await queue.items()).filter((item) => item.state === 'waiting').length;
  $('queued').textContent = String(waiting);
}

// /me names my grids but has no shapes: read them from the grids collection.
async function withGridShapes(today) {
  if (!today || today.bbox || !Array.isArray(today.grids) || !today.grids.length) return today;
  const pages = await Promise.all(today.grids.map((grid) => getJson(
    `/collections/grids/items?code=${encodeURIComponent(grid.code)}&f=json`)));
  const features = pages.flatMap((page) => page?.features ?? []);
  if (!features.length) return today;
  return { ...today, grids: { type: 'FeatureCollection', features }, bbox: bboxOf(features) };
}

async function loadToday() {
  const today = await withGridShapes((await getJson('/me/today')) || (await getJson('/me')));
  lastToday = today;
  renderToday(today);
  mapReady.then(() => showToday(today));  // the lists do not wait for the map
  if (today?.bbox) prefetchArea(today.bbox);
}

async function start() {
  const throughWorker = controlled;  // its fetches below are cached on the way
  $('signin').hidden = true;
  $('app').hidden = false;
  show('today');
  mapReady = createMap($('mapbox')).then(() => showPosition(place))
    .catch((error) => console.warn('map unavailable', error));
  watchPosition();
  setupScan();
  setupReport();
  queue.onChange(countQueued);
  queue.onChange(() => { if (!$('mine').hidden) renderReports(); });
  countQueued();
  queue.startSending();
  await loadToday();
  document.body.dataset.ready = 'true';
  // Otherwise warmCache() fetches again once the service worker takes control.
  if (throughWorker) document.body.dataset.cached = 'true';
}

// On the first visit the page loaded before its service worker took control, so what it
// fetched is not cached yet: fetch today's documents again through the worker.
async function warmCache() {
  await Promise.all([loadToday(), loadCategories(), fieldStyle()]);
  document.body.dataset.cached = 'true';
}

function wire() {
  document.querySelectorAll('.lang').forEach((button) => button.addEventListener('click', () => {
    toggleLanguage();
    translate();
    renderToday(lastToday);
    if (!$('mine').hidden) renderReports();
  }));
  document.querySelectorAll('nav button').forEach((button) => {
    button.addEventListener('click', () => show(button.dataset.screen));
  });
  $('outbox').addEventListener('click', () => queue.flush());
  document.addEventListener('field:locate', (event) => {
    show('map');
    centreOn(event.detail);
  });
  $('signout').addEventListener('click', async () => {
    signOut();
    // A shared phone keeps no one's cases or lists; unsent items stay in the outbox.
    for (const name of await caches.keys()) if (name.endsWith('-data')) await caches.delete(name);
    location.reload();
  });
  $('save').addEventListener('click', () => {
    if (!$('credential').value.trim()) return;
    signIn($('credential').value);
    start();
  });
}

function main() {
  translate();
  wire();
  $('insecure').hidden = window.isSecureContext;
  if ('serviceWorker' in navigator && window.isSecureContext) {
    if (!navigator.serviceWorker.controller) {
      navigator.serviceWorker.addEventListener('controllerchange', () => {
        controlled = true;
        if (credential()) warmCache();
      }, { once: true });
    }
    navigator.serviceWorker.register('sw.js', { scope: './' });
  }
  if (credential()) start();
  else $('signin').hidden = false;
}

main();
