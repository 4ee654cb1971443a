// Browser stand-in for node:fs/promises: the SDK's file module uses it only to save to a
// path (Bun), which the browser client never calls; it saves through a Blob instead.
const unavailable = () => Promise.reject(new Error("saving to a path is not available in the browser"));
export const rename = unavailable;
export const unlink = unavailable;
