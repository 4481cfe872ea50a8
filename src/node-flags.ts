/**
 * V8 flags for the node process that runs the source (the image's ENTRYPOINT, etm's source
 * process, bench/read.js). They cannot be set from inside the process or through NODE_OPTIONS.
 *
 * --initial-old-space-size: V8 sizes the old generation from the live heap, which stays about
 * 20 MB in a read, so it ran a full collection for every 2-3 MB promoted — 50 to 150 of them in a
 * 900k-detection read. Starting at 64 MB: 12.0-12.3 s -> 10.05 s and 12.5 -> 9.9 user CPU-seconds
 * in alternating reads (bench figures in the README), peak RSS unchanged.
 */
export const SOURCE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];
