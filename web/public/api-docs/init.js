// Starts the offline API reference. The renderer is served by Outpost itself;
// everything that would reach the internet (fonts, AI agent, registry, telemetry) is off.
// eslint-disable-next-line no-undef
Scalar.createApiReference("#app", {
  url: "/api/openapi.json",
  withDefaultFonts: false,
  hideClientButton: true,
  showDeveloperTools: "never",
  agent: { disabled: true },
  telemetry: false,
});
