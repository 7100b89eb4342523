// The outbox: every write (a scan, an incident and its photos) is stored in IndexedDB
// first, with the time and place it was made, then sent. Each item has its own
// Idempotency-Key (a UUID made when it was queued): a retry after a lost answer gets
// the first answer back from the server, never a second row.
import { authorised, credential, refusalText } from './api.js';

const DB = 'gridgeo-field';
const STORE = 'outbox';
const RETRY_MS = 15000;
let running = null;  // the run now sending
let nextRun = null;  // the run that starts once it ends
const listeners = new Set();

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'key' });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
  });
}

export async function items() {
  const all = await store('readonly', (s) => s.getAll());
  return all.sort((a, b) => a.queued_at.localeCompare(b.queued_at));
}

async function put(item) {
  await store('readwrite', (s) => s.put(item));
  listeners.forEach((listener) => listener());
}

export async function remove(key) {
  await store('readwrite', (s) => s.delete(key));
  listeners.forEach((listener) => listener());
}

export function onChange(listener) {
  listeners.add(listener);
}

// Queue a write; kind 'scan' (body: the scan) or 'incident' (body: the GeoJSON
// feature, photos: JPEG blobs). Sending starts at once when the server is reachable.
export async function enqueue(kind, body, photos = []) {
  const key = crypto.randomUUID();
  // Sent with the credential of whoever made it, even if another worker signs in later.
  const item = { key, kind, body, photos, queued_at: new Date().toISOString(), by: credential(),
                 state: 'waiting', message: null, outcome: null, incident_id: null,
                 photos_sent: 0, tries: 0 };
  if (kind === 'scan') item.body.scan_uuid = key;
  await put(item);
  return item;
}

class Retry extends Error {}

async function post(item, path, key, init) {
  let response;
  try {
    const headers = authorised({ 'Idempotency-Key': key, ...init.headers }, item.by);
    response = await fetch(path, { method: 'POST', ...init, headers });
  } catch {
    throw new Retry('network');  // no answer: unknown whether it arrived, the key decides
  }
  if (response.status === 401) {
    // An expired token: the item waits and goes with the credential signed in next.
    item.expired = true;
    throw new Retry(await refusalText(response));
  }
  if (response.status >= 500 || response.status === 429) throw new Retry(`HTTP ${response.status}`);
  if (!response.ok) return { refused: await refusalText(response) };
  return { body: await response.json().catch(() => ({})), response };
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

async function sendScan(item) {
  const answer = await post(item, '/scans', item.key,
                            { body: JSON.stringify(item.body), headers: JSON_HEADERS });
  return answer.refused ? answer : { outcome: answer.body };
}

async function sendIncident(item) {
  if (item.incident_id === null) {
    const answer = await post(item, '/collections/incidents/items', item.key,
                              { body: JSON.stringify(item.body), headers: JSON_HEADERS });
    if (answer.refused) return answer;
    item.incident_id = answer.body.id ?? answer.response.headers.get('Location').split('/').pop();
    await put(item);
  }
  while (item.photos_sent < item.photos.length) {
    const form = new FormData();
    form.append('file', item.photos[item.photos_sent], `photo-${item.photos_sent + 1}.jpg`);
    form.append('stage', 'before');
    const answer = await post(item, `/collections/incidents/items/${item.incident_id}/attachments`,
                              `${item.key}/photo/${item.photos_sent}`, { body: form, headers: {} });
    if (answer.refused) return answer;
    item.photos_sent += 1;
    await put(item);
  }
  return { outcome: { id: item.incident_id } };
}

async function sendOne(item) {
  item.tries += 1;
  if (item.expired && credential() !== item.by) {
    item.by = credential();
    item.expired = false;
  }
  try {
    const result = await (item.kind === 'scan' ? sendScan(item) : sendIncident(item));
    item.state = result.refused ? 'refused' : 'sent';
    item.message = result.refused ?? null;
    item.outcome = result.outcome ?? null;
    await put(item);
    return true;
  } catch (error) {
    if (!(error instanceof Retry)) throw error;
    item.message = error.message;
    await put(item);
    return false;  // the server is out of reach: keep the order, try again later
  }
}

// Send what is waiting, oldest first; stop at the first item the network refuses.
// A call made while a run is sending waits for the next run, which starts after it and
// reads the outbox afresh: joining the running one could miss an item just queued.
export function flush() {
  nextRun ??= (async () => {
    await running?.catch(() => {});  // its failure is its caller's to see
    running = nextRun;
    nextRun = null;
    try {
      for (const item of await items()) {
        if (item.state === 'waiting' && !(await sendOne(item))) break;
      }
    } finally {
      running = null;
    }
  })();
  return nextRun;
}

export function startSending() {
  window.addEventListener('online', flush);
  setInterval(flush, RETRY_MS);
  flush();
}
