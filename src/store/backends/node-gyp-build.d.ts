// node-gyp-build ships no types: it loads the prebuilt or locally built addon of a package root.
declare module 'node-gyp-build' {
  function load(packageRoot: string): unknown;
  export = load;
}
