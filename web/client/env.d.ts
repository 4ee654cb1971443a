// Module types the browser client's bundler handles itself (Bun.build bundles imported CSS).
declare module "*.css";
