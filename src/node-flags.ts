/**
 * V8 flags for the node process that runs the source (the image's ENTRYPOINT, etm's source
 * process, bench/read.js). They cannot be set from inside the process or through NODE_OPTIONS.
 *
 * --initial-old-space-size: V8 sizes the old generation from the live heap, which stays about
 * 20 MB in a read, so it ran a full collection for every 2-3 MB promoted: 92 in a read of 900k
 * detections to /dev/null (0.9 s), more into a pipe. From 128 MB: 3 (30 ms); user CPU 12.2 -> 9.0 s
 * to /dev/null and 13.2-13.8 -> 10.8 s into a pipe, peak RSS 190 -> 206-209 MB (64 MB left 35).
 */
export const SOURCE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
