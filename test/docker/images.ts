// Global teardown of the container tests: after the last file, remove the images
// that the tests built (the hub image and the build's intermediate stages), so
// that the engine holds only the stand-ins it started with.
import { loadCompose } from '../deploy/deployfiles.js';
import { docker } from './docker.js';

/** Removes the hub image and every untagged image the builds left. */
export async function teardown(): Promise<void> {
  if (!process.env.DOCKER_HOST) return;
  const image = loadCompose(['docker-compose.yml'], {}).services.hub!.image!;
  if ((await docker('images', '-q', image)).trim() !== '') await docker('rmi', '--force', image);
  await docker('image', 'prune', '--force');
}
