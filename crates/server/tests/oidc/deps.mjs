// The harness's npm dependencies, re-exported from next to their node_modules: scripts/oidc-provider.sh
// copies this file, package.json and package-lock.json into .data/oidc-provider/ and installs there,
// so that provider.mjs and check.mjs (which stay in the source tree, with no node_modules beside
// them) import these through this one file.
export { default as Provider, interactionPolicy } from 'oidc-provider';
export * as jose from 'jose';
