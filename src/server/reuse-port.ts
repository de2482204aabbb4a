/**
 * SO_REUSEPORT through node:net: `server.listen({ reusePort: true })`, in
 * Node 22.12+ and 23.1+. Several sockets, in one process or many, then listen
 * on one port and the kernel spreads new connections over them by a hash of
 * the connection's addresses: no shared accept queue, no process in between.
 * An older Node ignores the option without a word (and would then share one
 * socket), so whether it is there is decided here, from the version, and
 * never found out by listening.
 */

/** The platforms Node documents reusePort on; elsewhere listen() fails with it. */
const PLATFORMS: readonly NodeJS.Platform[] = ["linux", "freebsd", "sunos", "aix"];

/** Null when this Node on this platform can listen with reusePort; otherwise why not, as a phrase. */
export function reusePortUnavailable(version: string = process.versions.node, platform: NodeJS.Platform = process.platform): string | null {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const hasOption = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  if (!hasOption) return `Node ${version} has no reusePort, 22.12+ and 23.1+ have`;
  if (!PLATFORMS.includes(platform)) return `${platform} has no SO_REUSEPORT that spreads connections`;
  return null;
}
