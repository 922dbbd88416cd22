import { buildAppImage, ensureNodeImage, ensureRedisImage } from './docker-images.js';

/** `npm run docker:images [-- --app]`: the local Redis and Node images, and the app image when asked. */
const images = [await ensureRedisImage(), await ensureNodeImage()];
if (process.argv.includes('--app')) images.push(await buildAppImage());
for (const { tag, built, ms } of images) {
  process.stdout.write(`${tag}: ${built ? `built in ${(ms / 1000).toFixed(1)} s` : 'up to date'}\n`);
}
