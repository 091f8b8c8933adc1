// phx-live-state as one ES module, for the inspector's page
// (inspector.Options.ClientModuleURL = "/assets/phx-live-state.js"): the
// page then loads nothing from a CDN.
export * from 'phx-live-state';
export { default } from 'phx-live-state';
