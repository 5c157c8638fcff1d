// Regenerates layers-light-sv.json from the npm package @protomaps/basemaps (version in
// VERSION). Run once when updating: `npm install @protomaps/basemaps@$(cat VERSION)` in a
// scratch folder, then `node generate.mjs /scratch/node_modules/@protomaps/basemaps`.
// The map never loads the package itself: lagesbild embeds the generated layers in the style it
// serves for a local vector PMTiles/MBTiles basemap (source name "protomaps").
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = process.argv[2];
const { layers, namedFlavor } = await import(pathToFileURL(join(pkg, 'dist', 'esm', 'index.js')).href);
const out = layers('protomaps', namedFlavor('light'), { lang: 'sv' }).map((l) => {
  // No sprite is served: drop icons so that MapLibre does not ask for missing images.
  if (l.layout && 'icon-image' in l.layout) {
    const { 'icon-image': _, ...rest } = l.layout;
    return { ...l, layout: rest };
  }
  return l;
});
writeFileSync(new URL('./layers-light-sv.json', import.meta.url), JSON.stringify(out));
console.log(`${out.length} layers`);
