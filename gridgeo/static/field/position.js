// Where the worker is: the latest geolocation fix, kept up to date while the app runs.
import { showPosition } from './map.js';

export const place = { lonlat: null, accuracy: null };

export function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition((fix) => {
    place.lonlat = [fix.coords.longitude, fix.coords.latitude];
    place.accuracy = fix.coords.accuracy;
    showPosition(place);
  }, () => {}, { enableHighAccuracy: true, maximumAge: 10000 });
}

// The current position, waiting up to ``ms`` for a first fix; null without one.
export async function positionFix(ms = 10000) {
  for (let waited = 0; !place.lonlat && waited < ms; waited += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return place.lonlat;
}
