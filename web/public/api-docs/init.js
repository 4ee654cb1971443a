// Starts the offline API reference (renderer served by Outpost itself, no CDN, no web fonts).
// eslint-disable-next-line no-undef
Scalar.createApiReference("#app", { url: "/api/openapi.json", withDefaultFonts: false, hideClientButton: true, telemetry: false });
