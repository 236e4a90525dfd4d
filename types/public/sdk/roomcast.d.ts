// The dashboard imports the hub's /sdk/roomcast.js; for type-checking public/ (tsconfig.public.json
// maps public/ and types/public/ onto one tree with rootDirs) that module is the library's source.
export * from '../../../src/client/index.js';
